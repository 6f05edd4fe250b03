#!/usr/bin/python3
"""int8 dynamic quantization of an ONNX model's MatMuls with constant weights.

Does what onnxruntime.quantization.quantize_dynamic does for MatMul (Debian has no onnxruntime
Python package, so it cannot be used here): each weight becomes int8 (symmetric, zero point 0;
per tensor, or per output column with --per-channel), and each MatMul becomes

    DynamicQuantizeLinear(A) -> MatMulInteger(A_q, W_q, A_zp, W_zp) -> Cast(float) -> Mul(A_scale * W_scale)

which ONNX Runtime's CPU provider fuses into one DynamicQuantizeMatMul (MatMulIntegerToFloat)
kernel at graph optimization level 'extended' or 'all'. MatMuls of two activations (attention)
and Gemm (the one-row reward head) stay float.

    /usr/bin/python3 bench/quantize/quantize-dynamic.py IN.onnx OUT.onnx [--per-channel]

Needs Debian's python3-onnx and python3-numpy. Prints only counts and sizes.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weight(w, per_channel):
    """Symmetric int8: q = round(w / s) in [-127, 127], s = max|w| / 127 (per column or whole)."""
    amax = np.abs(w).max(axis=0) if per_channel else np.abs(w).max()
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    zp = np.zeros(scale.shape, dtype=np.int8)
    return q, scale, zp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('input')
    ap.add_argument('output')
    ap.add_argument('--per-channel', action='store_true')
    args = ap.parse_args()

    model = onnx.load(args.input)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    used = {}
    for n in graph.node:
        for x in n.input:
            used[x] = used.get(x, 0) + 1

    nodes = []
    done = 0
    max_err = 0.0
    for n in graph.node:
        w_init = inits.get(n.input[1]) if n.op_type == 'MatMul' and len(n.input) == 2 else None
        if w_init is None or w_init.data_type != TensorProto.FLOAT or len(w_init.dims) != 2:
            nodes.append(n)
            continue
        w = numpy_helper.to_array(w_init)
        q, scale, zp = quantize_weight(w, args.per_channel)
        max_err = max(max_err, float(np.abs(q.astype(np.float32) * scale - w).max()))
        p = f'{n.name or n.output[0]}_quant'.replace('/', '_')
        graph.initializer.extend([
            numpy_helper.from_array(q, f'{p}_W'),
            numpy_helper.from_array(scale, f'{p}_W_scale'),
            numpy_helper.from_array(zp, f'{p}_W_zp'),
        ])
        a = n.input[0]
        nodes += [
            helper.make_node('DynamicQuantizeLinear', [a], [f'{p}_A', f'{p}_A_scale', f'{p}_A_zp'], f'{p}_dql'),
            helper.make_node('MatMulInteger', [f'{p}_A', f'{p}_W', f'{p}_A_zp', f'{p}_W_zp'], [f'{p}_int32'], f'{p}_mmi'),
            helper.make_node('Cast', [f'{p}_int32'], [f'{p}_float'], f'{p}_cast', to=TensorProto.FLOAT),
            helper.make_node('Mul', [f'{p}_A_scale', f'{p}_W_scale'], [f'{p}_scale'], f'{p}_scale_mul'),
            helper.make_node('Mul', [f'{p}_float', f'{p}_scale'], [n.output[0]], f'{p}_out_mul'),
        ]
        used[n.input[1]] -= 1
        done += 1

    del graph.node[:]
    graph.node.extend(nodes)
    keep = [i for i in graph.initializer if used.get(i.name, 1) > 0]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, args.output)
    print(f'quantized {done} MatMul weight(s) to int8 ({"per channel" if args.per_channel else "per tensor"}), '
          f'max |w - dequant(q)| {max_err:.2e}; {os.path.getsize(args.input)} -> {os.path.getsize(args.output)} bytes')


if __name__ == '__main__':
    main()
