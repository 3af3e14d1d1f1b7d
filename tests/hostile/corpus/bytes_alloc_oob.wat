;; Bytes convention: aegis_alloc returns 0xFFFFFFF0, so writing the input
;; there is out of bounds. The host must refuse (no write outside memory).
(module (memory (export "memory") 1)
  (func (export "aegis_alloc") (param $len i32) (result i32) (i32.const 0xFFFFFFF0))
  ;; An echo, never reached with a correct host.
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len)))))
