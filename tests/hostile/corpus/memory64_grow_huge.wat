;; A 64-bit memory asking for far more than any limit.
(module (memory i64 1)
  (func (export "bomb") (drop (memory.grow (i64.const 1000000)))))
