;; A component whose `run: func() -> list<u8>` returns (ptr 0x8000, len
;; 0x10000) from a one-page memory: the list ends 32 KiB past the end of
;; memory. Lifting it must fail, not read outside memory.
(component
  (core module $m
    (memory (export "memory") 1)
    ;; The return area at 0: (ptr 0x8000, len 0x10000).
    (data (i32.const 0) "\00\80\00\00\00\00\01\00")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
    (func (export "run") (result i32) (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "run") (result (list u8))
    (canon lift (core func $i "run") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
