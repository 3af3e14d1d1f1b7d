// Type-checked with `tsc --strict` against the installed package by
// package.test.js (scripts/test-node.sh); not run.
import { Caller, isAegisError, Runtime, Sandbox, Module, Metrics, Options, WasmValue, DataValue, DataRecord, ExternInfo, errorCodes, validate, InterruptHandle, CallOptions, ExportFunction, AegisError, AegisErrorCode, ERROR_CODES, DETAIL_NAMES, METRIC_NAMES, OPTIONS, PolicyOption } from 'aegis'

const options: Options = { memoryLimit: 1 << 24, fuelLimit: Infinity, timeout: 0.5, allowRead: ['/tmp'], env: { A: 'b' } }
const more: Options = { memoryLimit: '64MiB', fuelLimit: 'off', timeout: null, onDenied: 'error', mapDirs: [{ host: '/tmp', guest: '/t', access: 'write' }], moduleLimits: { blockDepth: 100 }, randomSeed: 7n }
// @ts-expect-error: options are camelCase
const snake: Options = { memory_limit: 5 }
// @ts-expect-error: access is 'read' or 'write'
const badAccess: Options = { mapDirs: [{ host: '/a', guest: '/b', access: 'rw' }] }
const fromFile: Runtime = Runtime.fromPolicy('policy.toml', { timeout: 2 })
const fromText: Runtime = Runtime.fromPolicy('memory_limit = "1MiB"')
const optionNames: string[] = OPTIONS.map((o: PolicyOption) => `${o.name} (${o.coreName}, ${o.scope}): ${o.doc} [${o.unit}, default ${o.default}]`)
const firstCode: AegisErrorCode = ERROR_CODES[0]
const names: readonly string[] = [...DETAIL_NAMES, ...METRIC_NAMES]
// @ts-expect-error: the lists are read-only
ERROR_CODES.push('AEGIS_BUSY')
const runtime: Runtime = new Runtime(options)
const module: Module = runtime.loadWat('(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))')
const bytes: Module = runtime.loadBytes(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
validate(Buffer.from('(module)'))
runtime.validate(new Uint8Array())

const kinds: string[] = module.exports.map((e) => `${e.kind} ${e.name}: ${e.type} ${e.params?.join(',') ?? ''}`)
const sandbox: Sandbox = runtime.sandbox({ captureOutput: 1024 })
sandbox.registerFunc('env', 'log', (n: number, big: bigint) => { console.log(n, big) }, { params: ['i32', 'i64'] })
sandbox.loadModule(module)

const sum: number = sandbox.call<number>('add', 1, 2)
const args: WasmValue[] = [1, 2n]
const anything = sandbox.call('add', ...args)
const add: ExportFunction<number> = sandbox.func<number>('add')
const bound: number = add(1, 2) + sandbox.func('add')(...args)
async function later(): Promise<number> {
  const value: number = await sandbox.callAsync<number>('add', 1, 2)
  await sandbox.runAsync()
  const controller = new AbortController()
  const options: CallOptions = { signal: controller.signal }
  await sandbox.callAsync('add', 1, 2, options)
  await sandbox.callAsync('spin', { signal: AbortSignal.timeout(100) })
  await sandbox.callAsync<number>('add', ...args, { signal: controller.signal })
  await sandbox.runAsync({ signal: controller.signal })
  // @ts-expect-error: the options come after the guest arguments
  await sandbox.callAsync('add', { signal: controller.signal }, 1, 2)
  return value
}
const handle: InterruptHandle = sandbox.interruptHandle()
handle.interrupt()
const pending: boolean = handle.pending
sandbox.interrupt()
const metrics: Metrics = sandbox.metrics
const fuel: number = metrics.fuelConsumed + sandbox.lastCallMetrics.wallTime
const out: string = sandbox.stdout.toString() + sandbox.stderr.toString()
const codes: string[] = errorCodes()
const busy: boolean = sandbox.busy
sandbox.callVoid('add')
sandbox.reset()

try {
  sandbox.call('spin')
} catch (err) {
  if (err instanceof Error && 'code' in err && err.code === 'AEGIS_OUT_OF_FUEL') console.log(err.message)
  const aegisErr = err as AegisError
  const code: AegisErrorCode = aegisErr.code
  if (code === 'AEGIS_INTERRUPTED') console.log(aegisErr.elapsed, aegisErr.cause)
  if (code === 'AEGIS_TIMEOUT') console.log(aegisErr.elapsed, aegisErr.limit)
  if (code === 'AEGIS_PERMISSION_DENIED') console.log(aegisErr.capability, aegisErr.operation, aegisErr.target)
  if (code === 'AEGIS_BUSY') console.log(aegisErr.message)
  if (code === 'AEGIS_MODULE_TOO_COMPLEX') console.log(aegisErr.what, aegisErr.found, aegisErr.limit)
}

// @ts-expect-error: call needs the export name
sandbox.call()
// @ts-expect-error: a function is no guest argument
sandbox.call('add', () => 1)
// @ts-expect-error: func needs the export name
sandbox.func()
// @ts-expect-error: a function is no guest argument
add(() => 1)

// Exchanging data: guest memory, the bytes convention, components.
const size: number = sandbox.memorySize() + sandbox.memorySize('aux')
const copy: Buffer = sandbox.readMemory(0, 16)
const copy64: Buffer = sandbox.readMemory(0n, 16n, 'memory')
sandbox.writeMemory(16, Buffer.from('hi'))
sandbox.writeMemory(16n, new Uint8Array([1, 2]), 'aux')
// @ts-expect-error: writeMemory takes bytes, not text
sandbox.writeMemory(0, 'text')
const echoed: Buffer = sandbox.callBytes('echo', new Uint8Array([1, 2, 3]))
const greeting: string = sandbox.callStr('greet', 'Node')
// @ts-expect-error: callStr takes text
sandbox.callStr('greet', Buffer.from('Node'))
async function exchange(): Promise<void> {
  const out: Buffer = await sandbox.callBytesAsync('echo', Buffer.from('x'), { signal: AbortSignal.timeout(100) })
  const text: string = await sandbox.callStrAsync('upper', 'x')
  const record = await sandbox.callAsync<{ x: number }>('echo-record', { x: 1, y: 2, label: 'p' }, { signal: AbortSignal.timeout(100) })
  console.log(out, text, record.x)
}
type Point = { x: number; y: number; label: string }
const point: Point = { x: 1, y: 2, label: 'p' }
const same: Point = sandbox.call<Point>('echo-record', point)
const dataArgs: DataValue[] = ['text', 1, 2n, true, null, undefined, Buffer.from('b'), new Uint8Array(1), [1, [2, 'x']], { ok: { some: 5 } }, point]
sandbox.call('echo-tuple', [1, 'a', true])
sandbox.call('echo-variant', { rect: point })
sandbox.call('aegis:test/text#upper', 'wit')
const variant: DataRecord = { err: 'no' }
sandbox.registerComponent('aegis:test/host#transform', (s: string) => s.toUpperCase())
sandbox.registerComponent('aegis:test/host#add', (a: bigint, b: bigint) => a + b)
sandbox.registerComponent('log', (msg: string) => { console.log(msg) })
sandbox.registerComponent('aegis:test/host#maybe', (v: number | null) => (v === null ? { err: 'none' } : { ok: v }))
// @ts-expect-error: a host function is a function
sandbox.registerComponent('log', 'not a function')
const resultLimited: Options = { resultLimit: '4MiB' }
const resultLimitedToo: Options = { resultLimit: 1 << 20 }
const wit: ExternInfo[] = module.exports.filter((e) => e.type.startsWith('func('))
const oob = (err: AegisError): number | undefined => (err.code === 'AEGIS_MEMORY_OUT_OF_BOUNDS' ? (err.offset ?? 0) + (err.len ?? 0) + (err.size ?? 0) : undefined)
const codesNew: AegisErrorCode[] = ['AEGIS_MEMORY_OUT_OF_BOUNDS', 'AEGIS_RESULT_TOO_LARGE', 'AEGIS_INVALID_RESULT']

// Host functions with a Caller: inferred from `caller: true`.
sandbox.registerFunc('env', 'log', (caller, ptr: number, len: number) => {
  const text: string = caller.readString(ptr, len)
  const copy: Buffer = caller.readMemory(BigInt(ptr), 4n)
  caller.writeMemory(ptr, new Uint8Array([1]))
  const left: number | null = caller.timeRemaining
  if (caller.isCancelled() || caller.memorySize() < 0) return
  console.log(text, copy, left)
}, { params: ['i32', 'i32'], caller: true })
const typed = (caller: Caller, ptr: number): number => caller.readMemory(ptr, 1)[0]
sandbox.registerFunc('env', 'first', typed, { params: ['i32'], results: ['i32'], caller: true })
// @ts-expect-error: the caller has no such method
sandbox.registerFunc('env', 'log', (caller) => caller.readStrin(0, 1), { params: ['i32'], caller: true })
// @ts-expect-error: caller is a boolean
sandbox.registerFunc('env', 'log', () => 0, { caller: 'yes' })
// Stdin.
const stdins: Options[] = [{ stdin: Buffer.from('x') }, { stdin: new Uint8Array(1) }, { stdin: 'empty' }, { stdin: 'inherit' }, { stdin: { file: 'in.txt' } }, { stdin: { text: 'hi' } }]
// @ts-expect-error: not a stdin form
const badStdin: Options = { stdin: 'stdout' }
// isAegisError narrows `unknown`.
try {
  sandbox.call('spin')
} catch (err: unknown) {
  if (isAegisError(err)) {
    const code: AegisErrorCode = err.code
    const limit: number | undefined = err.limit
    console.log(code, limit, err.message)
  }
  // @ts-expect-error: not narrowed
  console.log(err.code)
}

export { stdins, badStdin, size, copy, copy64, echoed, greeting, exchange, same, dataArgs, variant, resultLimited, resultLimitedToo, wit, oob, codesNew, kinds, sum, anything, bound, later, fuel, out, codes, busy, bytes, pending, more, snake, badAccess, fromFile, fromText, optionNames, firstCode, names }
