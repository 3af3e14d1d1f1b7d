;; Unbounded recursion.
(module (func $r (export "recurse") (call $r)))
