// Running nft scripts: through libnftables in the daemon's process where it loads, else the nft tool.
import { run, SysError, trace } from "../../shared/sys.js";
import { libFunc } from "../ffi.js";

/** One script through libnftables in this process where it loads, else `nft -f -`; answers its output. */
export async function nftScript(script: string, dryRun = false): Promise<string> {
  const lib = NftLibrary.get(dryRun);
  if (lib) return lib.run(script);
  return (await run("nft", [...(dryRun ? ["-c"] : []), "-f", "-"], { input: script, timeoutMs: 30_000 })).stdout;
}

/** Whether ruleset changes run through libnftables in this process (else through the nft tool). */
export function nftInProcess(): boolean {
  return NftLibrary.get() !== null;
}

type NftFn<A extends unknown[], R> = ((...args: A) => R) & { async: (...args: [...A, (err: unknown, res: R) => void]) => void };

/**
 * libnftables, the library the nft tool is a front end of. Starting `nft` costs ~25 ms on this
 * 2-core VM (measured: median 24.9 ms for `nft -f -` against 0.13 ms in process), and a create's
 * chains are on its critical path, so the daemon runs scripts in process. Calls run on koffi's
 * worker thread (off the event loop), one at a time on one context, whose error buffer then holds
 * that call's messages, the same text nft prints.
 */
class NftLibrary {
  /** One context for changes, one in dry-run mode (the kernel checks a batch, then it is aborted). */
  private static loaded = new Map<boolean, NftLibrary | null>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: unknown,
    private readonly runCmd: NftFn<[unknown, string], number>,
    private readonly errorBuffer: (ctx: unknown) => string | null,
    private readonly outputBuffer: (ctx: unknown) => string | null,
  ) {}

  static get(dryRun = false): NftLibrary | null {
    const known = NftLibrary.loaded.get(dryRun);
    if (known !== undefined) return known;
    const fn = <F>(signature: string) => libFunc<F>("libnftables.so.1", signature);
    const ctxNew = fn<(flags: number) => unknown>("void *nft_ctx_new(uint32_t flags)");
    const bufferOutput = fn<(ctx: unknown) => number>("int nft_ctx_buffer_output(void *ctx)");
    const bufferError = fn<(ctx: unknown) => number>("int nft_ctx_buffer_error(void *ctx)");
    const errorBuffer = fn<(ctx: unknown) => string | null>("const char *nft_ctx_get_error_buffer(void *ctx)");
    const outputBuffer = fn<(ctx: unknown) => string | null>("const char *nft_ctx_get_output_buffer(void *ctx)");
    const runCmd = fn<NftFn<[unknown, string], number>>("int nft_run_cmd_from_buffer(void *ctx, const char *buf)");
    const setDryRun = fn<(ctx: unknown, dry: boolean) => void>("void nft_ctx_set_dry_run(void *ctx, bool dry)");
    const ctx = ctxNew?.(0); // NFT_CTX_DEFAULT
    let lib: NftLibrary | null = null;
    if (ctx && bufferOutput && bufferError && errorBuffer && outputBuffer && runCmd && setDryRun && bufferOutput(ctx) === 0 && bufferError(ctx) === 0) {
      setDryRun(ctx, dryRun);
      lib = new NftLibrary(ctx, runCmd, errorBuffer, outputBuffer);
    }
    NftLibrary.loaded.set(dryRun, lib);
    return lib;
  }

  /** Runs a script; answers what it printed (a listing's text; nothing for changes). */
  run(script: string): Promise<string> {
    trace({ lib: "libnftables", input: script });
    const call = this.queue.then(
      () =>
        new Promise<string>((resolve, reject) =>
          this.runCmd.async(this.ctx, script, (err, rc) => {
            const stderr = this.errorBuffer(this.ctx) ?? "";
            const stdout = this.outputBuffer(this.ctx) ?? ""; // read, so the buffer does not grow
            if (err) reject(err);
            else if (rc !== 0) reject(new SysError("nft", ["-f", "-"], 1, stderr, false));
            else resolve(stdout);
          }),
        ),
    );
    this.queue = call.catch(() => undefined);
    return call;
  }
}
