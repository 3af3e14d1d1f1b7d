;; Grows a table without end.
(module (table 1 funcref)
  (func (export "bomb") (loop $l (drop (table.grow (ref.null func) (i32.const 10000))) (br $l))))
