;; The host function panics (Rust), throws (JS/Python) or fails (C).
(module (import "aegis_test" "panic" (func $p))
  (func (export "go") (call $p)))
