;; Each call asks the host to write 60 MiB to stdout (denied without a
;; logging grant, so the host discards it after reading the guest's memory).
;; The host's work is charged as fuel (one unit per byte), so the default
;; budget runs out after about 16 calls instead of lasting until the timeout.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 960)
  (func (export "spin")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 62914544))
    (loop $again
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $again))))
