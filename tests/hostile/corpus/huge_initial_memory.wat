;; Declares 3 GiB up front.
(module (memory 50000) (func (export "noop")))
