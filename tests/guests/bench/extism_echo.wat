;; An Extism plugin whose `echo` returns its input: the peer of Aegis's
;; `call_bytes("echo", ...)` in bindings-python/benches/bench_data.py.
;;
;; It copies the input into a new block of Extism memory, 8 bytes at a time
;; (then byte by byte for the tail), as an Extism PDK does, and sets that
;; block as the output. The kernel functions are those of `extism:host/env`
;; (signatures as in the Extism PDKs):
;;   input_length() -> i64           input_load_u64(offset i64) -> i64
;;   input_load_u8(offset i64) -> i32
;;   alloc(len i64) -> i64           store_u64(ptr i64, value i64)
;;   store_u8(ptr i64, value i32)    output_set(ptr i64, len i64)
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (func (export "echo") (result i32)
    (local $len i64) (local $out i64) (local $i i64) (local $words i64)
    (local.set $len (call $input_length))
    (local.set $out (call $alloc (local.get $len)))
    (local.set $words (i64.and (local.get $len) (i64.const -8)))
    (block $words_done
      (loop $word
        (br_if $words_done (i64.ge_u (local.get $i) (local.get $words)))
        (call $store_u64
          (i64.add (local.get $out) (local.get $i))
          (call $input_load_u64 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $word)))
    (block $bytes_done
      (loop $byte
        (br_if $bytes_done (i64.ge_u (local.get $i) (local.get $len)))
        (call $store_u8
          (i64.add (local.get $out) (local.get $i))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $byte)))
    (call $output_set (local.get $out) (local.get $len))
    (i32.const 0)))
