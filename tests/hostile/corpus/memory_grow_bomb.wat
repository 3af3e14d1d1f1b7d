;; Grows memory a page at a time until something gives.
(module (memory 1)
  (func (export "bomb") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))
