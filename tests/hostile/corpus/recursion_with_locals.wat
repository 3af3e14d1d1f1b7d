;; Recursion with big frames.
(module
  (func $r (export "recurse") (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.set 0 (i64.const 1))
    (call $r)))
