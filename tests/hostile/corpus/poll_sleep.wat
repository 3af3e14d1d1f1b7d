;; A guest with no permissions asks WASI to sleep: once for 5 s, once for
;; u64::MAX ns, once on several clock subscriptions at once. Every call must
;; still end at its deadline (the host's wait is dropped, not slept through).
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Writes a relative monotonic clock subscription for `ns` at `at` (48 bytes).
  (func $clock_sub (param $at i32) (param $ns i64)
    (i64.store (local.get $at) (i64.const 7))                          ;; userdata
    (i32.store8 (i32.add (local.get $at) (i32.const 8)) (i32.const 0))   ;; tag: clock
    (i32.store (i32.add (local.get $at) (i32.const 16)) (i32.const 1))   ;; id: monotonic
    (i64.store (i32.add (local.get $at) (i32.const 24)) (local.get $ns)) ;; timeout
    (i64.store (i32.add (local.get $at) (i32.const 32)) (i64.const 0))   ;; precision
    (i32.store16 (i32.add (local.get $at) (i32.const 40)) (i32.const 0))) ;; flags: relative
  (func $sleep (param $ns i64) (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $clock_sub (i32.mul (local.get $i) (i32.const 48)) (local.get $ns))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (drop (call $poll (i32.const 0) (i32.const 4096) (local.get $n) (i32.const 8192))))
  (func (export "sleep_5s") (call $sleep (i64.const 5000000000) (i32.const 1)))
  (func (export "sleep_forever") (call $sleep (i64.const -1) (i32.const 1)))
  (func (export "sleep_many") (call $sleep (i64.const 5000000000) (i32.const 8))))
