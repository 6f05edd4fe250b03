"""The reward encoder shared by train_model.py (models/default) and export_model.py (test fixtures).

A small hand-written pre-LN transformer encoder (no nn.TransformerEncoder fast path, so the ONNX
graph is plain ops): token + learned position embeddings, multi-head self-attention with an
additive key-padding mask, GELU FFN, final LayerNorm, a pooling step and a linear head.

Padding never changes a reward: padded keys get -1e9 before the softmax (exactly zero weight in
float32), and pooling only reads real positions.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB_SIZE = 4096
PAD_ID, BOS_ID, EOS_ID = 1, 0, 2
MYSTERY_VOCAB = 16


class SelfAttention(nn.Module):
    def __init__(self, d_model, n_heads, dropout=0.0):
        super().__init__()
        assert d_model % n_heads == 0
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask_bias):
        # x: [B, T, D]; mask_bias: [B, 1, 1, T] additive (0 for real keys, -1e9 for padding)
        b, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)  # [B, H, T, dh]
        k = k.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        v = v.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d_head)
        probs = self.drop(torch.softmax(scores + mask_bias, dim=-1))
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, d)
        return self.out(ctx)


class EncoderLayer(nn.Module):
    """Pre-LN block: x + Attn(LN(x)); x + FFN(LN(x)), GELU FFN, dropout on both residual branches."""

    def __init__(self, d_model, n_heads, d_ffn, dropout=0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ffn)
        self.fc2 = nn.Linear(d_ffn, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask_bias):
        x = x + self.drop(self.attn(self.ln1(x), mask_bias))
        x = x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))
        return x


class RewardEncoder(nn.Module):
    """Embeddings -> N pre-LN layers -> LN -> pooling -> linear head -> logits [B, num_labels].

    pooling:
      "bos":       hidden state at position 0 (<s>; padding is on the right)
      "mean":      mean over real tokens
      "last_turn": mean over the tokens after the last `marker_ids` pair ("Assistant" ":"), i.e.
                   the last assistant turn read in the context of the whole (bidirectional)
                   dialogue; all real tokens when no marker survives truncation

    Fixture variants: token_type_ids (2-type embedding), position_ids (an input instead of
    arange), mystery_ids (extra input through a tiny embedding), per_token (head on every position
    -> [B, T, num_labels]).
    """

    def __init__(self, d_model, n_layers, n_heads, d_ffn, num_labels=1, max_pos=512, dropout=0.0,
                 pooling="bos", marker_ids=None, token_type_ids=False, position_ids=False,
                 mystery_ids=False, per_token=False):
        super().__init__()
        self.use_token_type_ids = token_type_ids
        self.use_position_ids = position_ids
        self.use_mystery_ids = mystery_ids
        self.per_token = per_token
        self.pooling = pooling
        self.marker_ids = list(marker_ids or [])
        assert pooling in ("bos", "mean", "last_turn")
        assert pooling != "last_turn" or len(self.marker_ids) == 2
        self.tok_emb = nn.Embedding(VOCAB_SIZE, d_model)
        self.pos_emb = nn.Embedding(max_pos, d_model)
        self.type_emb = nn.Embedding(2, d_model) if token_type_ids else None
        self.mystery_emb = nn.Embedding(MYSTERY_VOCAB, d_model) if mystery_ids else None
        self.emb_drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList([EncoderLayer(d_model, n_heads, d_ffn, dropout) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_labels)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def pool_weights(self, input_ids, attention_mask):
        """[B, T] float weights of the positions pooled (rows sum to 1)."""
        mask = attention_mask.to(torch.float32)
        if self.pooling == "mean":
            w = mask
        else:  # last_turn
            a, c = self.marker_ids
            starts = (input_ids[:, :-1] == a) & (input_ids[:, 1:] == c)
            starts = F.pad(starts.to(torch.float32), (0, 1))  # [B, T]; 1 where a marker starts
            # markers starting at or after t = total - cumsum(starts) + starts (no flip needed)
            after = starts.sum(dim=1, keepdim=True) - torch.cumsum(starts, dim=1) + starts
            in_last = (after < 0.5).to(torch.float32) * mask
            # no marker left (truncated away, or not a dialogue): pool every real token
            has = (in_last.sum(dim=1, keepdim=True) > 0.5).to(torch.float32)
            w = has * in_last + (1.0 - has) * mask
        return w / w.sum(dim=1, keepdim=True)

    def forward(self, input_ids, attention_mask, *extra):
        extra = list(extra)
        token_type_ids = extra.pop(0) if self.use_token_type_ids else None
        position_ids = extra.pop(0) if self.use_position_ids else None
        mystery_ids = extra.pop(0) if self.use_mystery_ids else None
        assert not extra

        if position_ids is None:
            position_ids = torch.arange(input_ids.shape[1], dtype=torch.long, device=input_ids.device)
            position_ids = position_ids.unsqueeze(0)
        x = self.tok_emb(input_ids) + self.pos_emb(position_ids)
        if token_type_ids is not None:
            x = x + self.type_emb(token_type_ids)
        if mystery_ids is not None:
            x = x + self.mystery_emb(mystery_ids)
        x = self.emb_drop(x)

        mask = attention_mask.to(x.dtype)[:, None, None, :]  # [B, 1, 1, T], broadcast over heads/queries
        mask_bias = (1.0 - mask) * -1e9
        for layer in self.layers:
            x = layer(x, mask_bias)
        x = self.ln_f(x)
        if self.per_token:
            return self.head(x)  # [B, T, num_labels]
        if self.pooling == "bos":
            return self.head(x[:, 0])  # <s> at position 0 (right padding) -> [B, num_labels]
        w = self.pool_weights(input_ids, attention_mask)
        return self.head(torch.matmul(w.unsqueeze(1), x).squeeze(1))  # [B, D]
