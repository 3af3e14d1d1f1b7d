(module (func (export "boom") unreachable))
