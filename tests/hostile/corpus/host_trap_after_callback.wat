;; A successful host call followed by a trap in the guest.
(module (import "aegis_test" "ok" (func $ok (param i32) (result i32)))
  (func (export "go") (drop (call $ok (i32.const 1))) unreachable))
