;; A component whose `run: func() -> string` returns the bytes ff fe 80 c0,
;; which are not UTF-8: lifting the result must fail, not hand them out.
(component
  (core module $m
    (memory (export "memory") 1)
    ;; The return area at 0: (ptr 16, len 4); the bytes at 16.
    (data (i32.const 0) "\10\00\00\00\04\00\00\00")
    (data (i32.const 16) "\ff\fe\80\c0")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
    (func (export "run") (result i32) (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "run") (result string)
    (canon lift (core func $i "run") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
