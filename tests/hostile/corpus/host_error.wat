;; The host function returns an error.
(module (import "aegis_test" "fail" (func $f (result i32)))
  (func (export "go") (result i32) (call $f)))
