;; One request for ~4 GiB.
(module (memory 1)
  (func (export "bomb") (drop (memory.grow (i32.const 65535)))))
