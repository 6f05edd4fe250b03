"""Builds test/fixtures/models/{int64,bfloat16}-logits.onnx: graphs whose `logits` output is of a
type the service must refuse at startup (it reads float32 or float16 logits only).

Each reads input_ids and attention_mask ([batch, seq], int64) and returns the token count per
row as logits [batch, 1], cast to the named type. Run from the repo root:
    /usr/bin/python3 models/build/make-dtype-fixtures.py
Needs Debian's python3-onnx. Deterministic: the same onnx version writes the same bytes.
"""
import onnx
from onnx import TensorProto, helper

OUT = "test/fixtures/models"


def build(elem_type, name):
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["mask_f", "axes"], ["count"], keepdims=1),
        helper.make_node("Cast", ["count"], ["logits"], to=elem_type),
        # input_ids must be consumed to stay a graph input.
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("logits", elem_type, ["batch", 1]), helper.make_tensor_value_info("ids_shape", TensorProto.INT64, [2])],
        [axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], producer_name="reward-server fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, f"{OUT}/{name}.onnx")


build(TensorProto.INT64, "int64-logits")
build(TensorProto.BFLOAT16, "bfloat16-logits")
print("wrote int64-logits.onnx and bfloat16-logits.onnx")
