;; Bytes convention, legitimate: aegis_alloc always returns 8 and `run`
;; returns (8, len), the input buffer itself. The output overlaps the input
;; exactly; the call must succeed with output == input.
(module (memory (export "memory") 1)
  (func (export "aegis_alloc") (param $len i32) (result i32)
    ;; Memory grown to fit 8 + len bytes.
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (local.get $len) (i32.const 0x10007)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then unreachable))))
    (i32.const 8))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.const 0x0000000800000000) (i64.extend_i32_u (local.get $len)))))
