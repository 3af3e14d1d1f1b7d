;; A component whose `run: func() -> list<u8>` returns 40 MiB of zero bytes,
;; all in bounds of its 700-page memory: the host must apply its output limit,
;; or cope with the size.
(component
  (core module $m
    (memory (export "memory") 700)
    ;; The return area at 0: (ptr 0x10000, len 40 MiB = 0x2800000).
    (data (i32.const 0) "\00\00\01\00\00\00\80\02")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
    (func (export "run") (result i32) (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "run") (result (list u8))
    (canon lift (core func $i "run") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
