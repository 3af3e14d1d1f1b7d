;; WASI called directly: open "../secret.txt" and "/etc/passwd" from the first preopen (fd 3).
;; Returns 0 only if both opens were refused.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "../secret.txt")
  (data (i32.const 32) "/etc/passwd")
  (func (export "go") (result i32)
    (i32.or
      (i32.eqz (call $open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 13)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))
      (i32.eqz (call $open (i32.const 3) (i32.const 1) (i32.const 32) (i32.const 11)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))))))
