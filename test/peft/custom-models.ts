// The custom models of scripts/fixtures/custom_models.py, built the same way in Node (Conv3d layers; fused MoE
// expert weights read with value(), so LoRA on them through target_parameters applies).
import { nn, torch, type Tensor } from '../../lib/index.js';

/** conv (2→4, kernel 3, stride (1, 2, 2), padding 1), relu, conv2 (4→3, 1×1×1), flatten, head (108→5). */
export class Conv3dNet extends nn.Module {
  constructor() {
    super();
    this.registerModule('conv', new nn.Conv3d(2, 4, 3, { stride: [1, 2, 2], padding: 1 }));
    this.registerModule('conv2', new nn.Conv3d(4, 3, 1));
    this.registerModule('head', new nn.Linear(3 * 4 * 3 * 3, 5));
  }

  forward(inputs: { x: Tensor }): Tensor {
    return torch.scope(() => {
      const h = this.child<nn.Conv3d>('conv2').forward(this.child<nn.Conv3d>('conv').forward(inputs.x).relu());
      return this.child<nn.Linear>('head').forward(h.flatten(1));
    });
  }
}

/** gate_up_proj [E, 2I, H] and down_proj [E, H, I] ([experts, out, in]); isTransposed: [experts, in, out]. */
export class Experts extends nn.Module {
  constructor(experts: number, hidden: number, inter: number, readonly isTransposed = false) {
    super();
    const gateUp = isTransposed ? [experts, hidden, 2 * inter] : [experts, 2 * inter, hidden];
    const down = isTransposed ? [experts, inter, hidden] : [experts, hidden, inter];
    this.registerParameter('gate_up_proj', nn.emptyParameter(gateUp));
    this.registerParameter('down_proj', nn.emptyParameter(down));
  }

  forward(x: Tensor, routing: Tensor): Tensor {
    return torch.scope(() => {
      const h = torch.einsum(this.isTransposed ? 'nh,eho->neo' : 'nh,eoh->neo', x, this.value('gate_up_proj'));
      const [gate, up] = h.chunk(2, -1);
      const out = torch.einsum(this.isTransposed ? 'nei,eih->neh' : 'nei,ehi->neh', gate.silu().mul(up), this.value('down_proj'));
      return out.mul(routing.unsqueeze(-1)).sum(1);
    });
  }
}

/** embed (5→8), router (8→4, softmax), two expert stacks (one transposed) added to the residual, head (8→3). */
export class TinyMoE extends nn.Module {
  constructor() {
    super();
    this.registerModule('embed', new nn.Linear(5, 8));
    this.registerModule('router', new nn.Linear(8, 4, { bias: false }));
    this.registerModule('experts', new Experts(4, 8, 6));
    this.registerModule('experts_t', new Experts(4, 8, 6, true));
    this.registerModule('head', new nn.Linear(8, 3));
  }

  forward(inputs: { x: Tensor }): Tensor {
    return torch.scope(() => {
      const h = this.child<nn.Linear>('embed').forward(inputs.x);
      const routing = torch.F.softmax(this.child<nn.Linear>('router').forward(h), -1);
      const experts = (name: string): Tensor => this.child<Experts>(name).forward(h, routing);
      return this.child<nn.Linear>('head').forward(h.add(experts('experts')).add(experts('experts_t')));
    });
  }
}
