;; Two functions calling each other forever.
(module
  (func $a (export "recurse") (call $b))
  (func $b (call $a)))
