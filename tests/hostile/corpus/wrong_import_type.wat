;; Imports a provided host function with the wrong signature.
(module (import "aegis_test" "ok" (func (param i64))) (func (export "noop")))
