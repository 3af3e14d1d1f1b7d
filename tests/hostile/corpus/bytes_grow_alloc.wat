;; Bytes convention, legitimate: memory grows under the host's feet. Both
;; aegis_alloc and `run` grow memory (16 pages, more for big inputs) and use the
;; new pages: the input is written into pages that did not exist before the
;; call to aegis_alloc, and `run` copies it to pages that did not exist before
;; the call to `run`, and returns that copy. The call must succeed with
;; output == input (a host holding a stale view of memory fails).
(module (memory (export "memory") 1)
  ;; Grows memory by 16 + len/64KiB pages; returns the first new byte + 16.
  (func $grow (param $len i32) (result i32)
    (local $old i32)
    (local.set $old (memory.grow
      (i32.add (i32.const 16) (i32.shr_u (local.get $len) (i32.const 16)))))
    (if (i32.eq (local.get $old) (i32.const -1)) (then unreachable))
    (i32.add (i32.shl (local.get $old) (i32.const 16)) (i32.const 16)))
  (func (export "aegis_alloc") (param $len i32) (result i32)
    (call $grow (local.get $len)))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32)
    (local.set $out (call $grow (local.get $len)))
    (memory.copy (local.get $out) (local.get $ptr) (local.get $len))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (local.get $len)))))
