;; Spins forever: stopped by fuel, or by the timeout when fuel is off.
(module (func (export "spin") (loop $l (br $l))))
