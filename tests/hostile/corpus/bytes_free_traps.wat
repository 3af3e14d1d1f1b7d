;; Bytes convention: `run` returns a 2-byte output ("ok"), and aegis_free,
;; which the host calls once it has copied the output, traps. The host must
;; report the trap, not crash.
(module (memory (export "memory") 2)
  (data (i32.const 16) "ok")
  (func (export "aegis_alloc") (param $len i32) (result i32)
    ;; Input at 0x10000, memory grown to fit it.
    (local $pages i32)
    (local.set $pages (i32.add (i32.const 1)
      (i32.shr_u (i32.add (local.get $len) (i32.const 0xFFFF)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then unreachable))))
    (i32.const 0x10000))
  (func (export "aegis_free") (param $ptr i32) (param $len i32) unreachable)
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 0x0000001000000002)))
