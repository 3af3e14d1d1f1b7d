;; Imports a WASI name that does not exist.
(module (import "wasi_snapshot_preview1" "sock_open_raw" (func (param i32) (result i32)))
  (func (export "noop")))
