// `cloudflare:workers`: the base classes a Worker's named entrypoints extend. The runtime
// constructs an entrypoint class as `new Class(ctx, env)` for each call; these bases keep the
// two as `this.ctx` and `this.env`, as workerd's do.

export class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

export class DurableObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

export class WorkflowEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

// Instances of an RpcTarget subclass cross an RPC boundary by reference rather than by value.
export class RpcTarget {}
