;; The host function tries to call back into the same sandbox.
(module (import "aegis_test" "reenter" (func $r))
  (func (export "go") (call $r))
  (func (export "noop")))
