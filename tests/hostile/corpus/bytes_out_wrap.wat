;; Bytes convention: `run` returns out_ptr 0xFFFFFFF0 and out_len 0x20, so
;; out_ptr + out_len wraps past 2^32 (to 0x10) in 32-bit arithmetic.
(module (memory (export "memory") 2)
  (func (export "aegis_alloc") (param $len i32) (result i32)
    ;; Input at 0x10000, memory grown to fit it.
    (local $pages i32)
    (local.set $pages (i32.add (i32.const 1)
      (i32.shr_u (i32.add (local.get $len) (i32.const 0xFFFF)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then unreachable))))
    (i32.const 0x10000))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 0xFFFFFFF000000020)))
