;; Declares ten million table slots up front.
(module (table 10000000 funcref) (func (export "noop")))
