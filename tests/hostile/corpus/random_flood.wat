;; Each call asks the host for 60 MiB of randomness. The host's work is
;; charged as fuel (one unit per byte), so the default budget runs out after
;; about 16 calls instead of lasting minutes.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 960)
  (func (export "spin")
    (loop $again
      (drop (call $random (i32.const 0) (i32.const 62914560)))
      (br $again))))
