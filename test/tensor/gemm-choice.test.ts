// NODE_PEFT_GEMM: checked at the first Linear (a bad value names the variable), honoured, and auto measures both paths.
import { describe, expect, it } from 'vitest';
import { torch, TorchError } from '../../lib/index.js';
import { gemmSetting } from '../../lib/tensor/gemm.js';

describe('NODE_PEFT_GEMM', () => {
  it('accepts auto, mkl and onednn (any case; unset or empty = auto) and names itself on anything else', () => {
    expect([undefined, '', 'auto', 'MKL', ' onednn '].map((v) => gemmSetting(v))).toEqual(['auto', 'auto', 'auto', 'mkl', 'onednn']);
    expect(() => gemmSetting('openblas')).toThrow(TorchError);
    expect(() => gemmSetting('openblas')).toThrow("NODE_PEFT_GEMM must be 'auto', 'mkl' or 'onednn', got 'openblas'");
  });

  it('a bad value fails the first Linear with that message; a good one is then used as given', () => {
    const saved = process.env.NODE_PEFT_GEMM;
    try {
      process.env.NODE_PEFT_GEMM = 'fastest';
      const [x, w] = [torch.randn([20, 8]), torch.randn([4, 8])];
      expect(() => torch.F.linear(x, w)).toThrow(/NODE_PEFT_GEMM must be 'auto', 'mkl' or 'onednn', got 'fastest'/);
      process.env.NODE_PEFT_GEMM = 'mkl';
      expect(torch.F.linear(x, w).shape).toEqual([20, 4]);
      expect(torch.gemmChoice()).toMatchObject({ path: 'mkl', setting: 'mkl', reason: 'env', probe: null });
    } finally {
      if (saved === undefined) delete process.env.NODE_PEFT_GEMM;
      else process.env.NODE_PEFT_GEMM = saved;
    }
  });

  it('measures both paths at a W1 shape and reports positive rates', () => {
    const rates = torch.measureGemm(64, 128, 96, 2);
    expect(rates.mkl).toBeGreaterThan(0);
    if (rates.onednn !== null) expect(rates.onednn).toBeGreaterThan(0);
  });
});
