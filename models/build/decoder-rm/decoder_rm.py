"""Plain-torch decoder-only reward models shaped like transformers' Qwen3ForSequenceClassification
and LlamaForSequenceClassification (transformers >= 4.48 semantics), for tiny random-weight fixtures.

Parameter names are transformers' state_dict keys (model.embed_tokens.weight,
model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight, score.weight), so the ONNX
initializers carry the same names as in an optimum export.

What is mirrored (eager attention path of modeling_qwen3.py / modeling_llama.py):
  * RMSNorm: x.float(); x * rsqrt(mean(x^2) + eps); weight * x.to(input dtype)
  * attention: q/k/v/o projections without bias, GQA (repeat_kv), Qwen3 only: q_norm / k_norm
    (RMSNorm over head_dim, applied before RoPE), rotate-half RoPE with
    inv_freq = 1 / theta^(arange(0, head_dim, 2) / head_dim) (Llama 3.1: "llama3" rope_scaling),
    scores * head_dim^-0.5 plus the 4D mask (causal AND attention_mask, min float where masked),
    softmax in float32, o_proj
  * SwiGLU MLP: down(silu(gate(x)) * up(x)); pre-norm residual blocks; final norm
  * position_ids = arange(seq_len) (transformers' default, correct for right padding)
  * score = Linear(hidden, num_labels, bias=False) on every position, then pooling:
        non_pad_mask = (input_ids != pad_token_id).to(int32)
        token_indices = arange(seq_len, dtype=int32)
        last_non_pad_token = (token_indices * non_pad_mask).argmax(-1)
        pooled_logits = logits[arange(batch), last_non_pad_token]
    and, when pad_token_id is None, last_non_pad_token = -1 (the last position). transformers
    refuses batch > 1 in that case; an ONNX graph cannot, which is what the nopad fixture is for.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.to(torch.float32)
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.eps)
        return self.weight * h.to(dtype)


def rope_inv_freq(cfg):
    head_dim = cfg["head_dim"]
    base = cfg["rope_theta"]
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    scaling = cfg.get("rope_scaling")
    if scaling:
        assert scaling["rope_type"] == "llama3", scaling
        factor = scaling["factor"]
        low_freq_factor = scaling["low_freq_factor"]
        high_freq_factor = scaling["high_freq_factor"]
        old_context_len = scaling["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq = torch.where(is_medium, smoothed, inv_freq_llama)
    return inv_freq


class RotaryEmbedding(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.register_buffer("inv_freq", rope_inv_freq(cfg), persistent=False)

    def forward(self, position_ids, dtype):
        # transformers: (inv_freq[None, :, None] @ position_ids[:, None, :]).transpose(1, 2) in
        # float32; the inner dimension is 1, so this product is bit-identical.
        freqs = position_ids.float()[:, :, None] * self.inv_freq.float()[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)  # attention_scaling is 1.0 for both types


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, kv, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hidden, d = cfg["hidden_size"], cfg["head_dim"]
        self.n_heads, self.n_kv, self.head_dim = cfg["num_attention_heads"], cfg["num_key_value_heads"], d
        self.scaling = d ** -0.5
        self.q_proj = nn.Linear(hidden, self.n_heads * d, bias=False)
        self.k_proj = nn.Linear(hidden, self.n_kv * d, bias=False)
        self.v_proj = nn.Linear(hidden, self.n_kv * d, bias=False)
        self.o_proj = nn.Linear(self.n_heads * d, hidden, bias=False)
        self.qk_norm = cfg["model_type"] == "qwen3"
        if self.qk_norm:
            self.q_norm = RMSNorm(d, cfg["rms_norm_eps"])
            self.k_norm = RMSNorm(d, cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask_bias):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, -1, self.head_dim)
        k = self.k_proj(x).view(b, t, -1, self.head_dim)
        v = self.v_proj(x).view(b, t, -1, self.head_dim).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.n_heads // self.n_kv)
        v = repeat_kv(v, self.n_heads // self.n_kv)
        w = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        w = w + mask_bias
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask_bias):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask_bias)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class DecoderModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.rotary_emb = RotaryEmbedding(cfg)

    def forward(self, input_ids, attention_mask):
        x = self.embed_tokens(input_ids)
        t = input_ids.shape[1]
        position_ids = torch.arange(t, dtype=torch.int64).unsqueeze(0)
        cos, sin = self.rotary_emb(position_ids, x.dtype)
        # 4D mask [batch, 1, query, key]: key <= query AND attention_mask[key] == 1; masked
        # entries get the dtype's min (transformers' _prepare_4d_causal_attention_mask...).
        idx = torch.arange(t, dtype=torch.int64)
        causal = idx[None, :] <= idx[:, None]
        allowed = causal[None, None, :, :] & (attention_mask[:, None, None, :] != 0)
        zero = torch.zeros((), dtype=x.dtype)
        mask_bias = torch.where(allowed, zero, torch.full((), torch.finfo(x.dtype).min, dtype=x.dtype))
        for layer in self.layers:
            x = layer(x, cos, sin, mask_bias)
        return self.norm(x)


class DecoderForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.pad_token_id = cfg.get("pad_token_id")
        self.model = DecoderModel(cfg)
        self.score = nn.Linear(cfg["hidden_size"], cfg["num_labels"], bias=False)

    def forward(self, input_ids, attention_mask):
        hidden = self.model(input_ids, attention_mask)
        logits = self.score(hidden)
        batch_size = input_ids.shape[0]
        if self.pad_token_id is None:
            last_non_pad_token = -1
        else:
            non_pad_mask = (input_ids != self.pad_token_id).to(torch.int32)
            token_indices = torch.arange(input_ids.shape[-1], dtype=torch.int32)
            last_non_pad_token = (token_indices * non_pad_mask).argmax(-1)
        return logits[torch.arange(batch_size), last_non_pad_token]


def init_weights(model, seed, score_std=1.0):
    """Seeded, large-std init so that rewards spread over several units: embeddings N(0, 1),
    projections N(0, 1/fan_in) (std 1/sqrt(fan_in)), RMSNorm weights U(0.5, 1.5), score N(0, score_std^2).
    Parameters are filled in sorted-name order from one generator (deterministic)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif name == "score.weight":
                p.copy_(torch.randn(p.shape, generator=g) * score_std)
            elif "norm" in name:
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
    return model
