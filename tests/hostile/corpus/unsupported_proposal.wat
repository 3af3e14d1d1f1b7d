;; Stack switching (continuations) is not enabled in Aegis.
(module
  (type $ft (func))
  (type $ct (cont $ft))
  (func (export "noop")))
