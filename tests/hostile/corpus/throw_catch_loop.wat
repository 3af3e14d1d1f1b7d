;; A throw/catch loop: exceptions cost far more host time than fuel, so the
;; proposal is off unless the embedder turns it on.
(module
  (tag $e)
  (func (export "spin")
    (loop $again
      (block $caught
        (try_table (catch $e $caught)
          (throw $e)))
      (br $again))))
