; fullyConnected: out[o] = bias[o] + sum over i of W[o][i] * in[i], the input taken as a flat
; vector of its C*H*W elements, then a fused activation (emu/graph/layers/fully-connected.ts
; states the same, with the weights' packer).
;
; Job (emu/graph/job.ts), split by channels: the share is the groups of 8 outputs (og) first ..
; first+count-1. in0 is HWC8 (cStride 2, xStride 2 * C8: whole pixels); out is (outputs, 1, 1)
; HWC8, og's 8 lanes at out + 16 og. Params (words): 0 outputs, 1-4 the activation
; (emu/graph/layers/activation.ts: kind, then slope, low, high as f16; the kernel uses the last
; three: out = min(max(max(x, -0 + x * slope), low), high)).
;
; The kernel reads the input in memory order: pixel (y, x) row-major, each pixel's Cv = C8 / 8
; vectors; the weights are packed to match (the packer takes ONNX's order c*H*W + y*W + x).
; Weights (f16): per og, per input vector in that order, per channel k of the vector, the og's
; 8 outputs' weights (16 bytes), so 128 bytes per vector and H * W * Cv * 128 per og; zero for
; channels past C and outputs past the last. 32 bytes follow the last og (the loop reads that
; far ahead). Bias: f32 per output, 8 per og (32 bytes), zero past the outputs; or none.
;
; Arithmetic: per output lane two f32 accumulators from +0, A for even channels k of each input
; vector and B for odd ones; each term is one vau.mac.f32 (the f16 x f16 product is exact in
; f32, the sum rounded to f32), in the input's memory order. Then (A + B) + bias in f32, rounded
; once to f16, then the activation in f16.
;
; The inner loop (fc_run) is 34 cycles per input vector (64 MACs): the VAU converts the eight
; weight vectors (both halves; the high one reaches the low lanes by vshuf.i32) and the next
; input vector and does the 16 macs; the CMU broadcasts each input lane; the LSUs bring one
; weight vector (8 outputs of one channel) every 4 cycles.
;
; Registers: i18 job, i19 scratch (the activation's operands), i6 og, i7 ogs left, i8 the og's
; weights, i9 input, i10 vectors per segment, i11 segments per row, i12 rows, i13 segment
; stride, i14 row stride, i27-i29 rows left, segments left, the segment, i31 zero.
        .code
fc:     lsu0.ld.i32 i19, i18, 112 || lsu1.ld.u16 i1, i18, 136      ; scratch; slope
        lsu0.ld.u16 i2, i18, 140 || lsu1.ld.u16 i3, i18, 144       ; low; high
        lsu0.ld.i32 i4, i18, 4 || lsu1.ld.i32 i5, i18, 8           ; C; H
        lsu0.ld.i32 i6, i18, 104 || lsu1.ld.i32 i7, i18, 108       ; first; count
        lsu0.ld.i32 i11, i18, 12 || lsu1.ld.i32 i13, i18, 24       ; W; xStride
        lsu0.ld.i32 i14, i18, 20 || iau.xor i31, i31, i31          ; yStride; zero
        nop 4
        cmu.bcst.i16 v0, i1 || lsu0.ldil i1, 0x8000 || iau.add i4, i4, 7
        cmu.bcst.i16 v1, i2 || iau.shr i10, i4, 3                  ; Cv
        cmu.bcst.i16 v2, i3 || iau.add i12, i5, 0                  ; rows
        cmu.bcst.i16 v3, i1 || iau.shl i4, i10, 4                  ; bytes of a pixel's vectors
        lsu0.st.v128 v0, i19, 0 || lsu1.st.v128 v1, i19, 16 || iau.sub i4, i4, i13
        lsu0.st.v128 v2, i19, 32 || lsu1.st.v128 v3, i19, 48
        ; Segments: runs of contiguous vectors. Whole pixels follow one another when
        ; xStride = 16 Cv (a row is one run), and rows too when yStride = W xStride.
        cmu.cmii.i32 i4, i31
        peu.pc1c neq || bru.bra segments
        nop 6
        iau.mul i10, i10, i11                                       ; a row's vectors
        iau.mul i4, i11, i13
        lsu0.ldil i11, 1
        iau.sub i4, i4, i14
        cmu.cmii.i32 i4, i31
        peu.pc1c neq || bru.bra segments
        nop 6
        iau.mul i10, i10, i12                                       ; the whole input's vectors
        lsu0.ldil i12, 1
segments:
        iau.shl i1, i10, 7 || lsu0.ld.i32 i2, i18, 96               ; weight bytes per og; weights
        iau.mul i1, i1, i11
        nop
        iau.mul i1, i1, i12                                         ; per og
        nop
        iau.mul i8, i1, i6
        nop
        iau.add i8, i8, i2                                          ; the first og's weights

og_loop:
        vau.xor v0, v0, v0 || lsu0.ld.i32 i9, i18, 0 || cmu.cpii i27, i12   ; A, B = +0; input; rows left
        vau.xor v1, v1, v1
        vau.xor v2, v2, v2
        vau.xor v3, v3, v3
        nop 2
row:    cmu.cpii i29, i11 || iau.add i28, i9, 0                     ; segments left; the row's first
segment:
        bru.bal fc_run
        iau.add i1, i28, 0
        iau.add i2, i8, 0
        iau.shl i5, i10, 4
        iau.add i5, i5, i28
        iau.sub i5, i5, 16                                          ; the segment's last vector
        iau.add i28, i28, i13                                       ; the next segment
        iau.sub i8, i2, 32                                          ; fc_run leaves i2 32 bytes ahead
        iau.sub i29, i29, 1
        cmu.cmii.i32 i29, i31
        peu.pc1c neq || bru.bra segment
        nop 6
        iau.add i9, i9, i14
        iau.sub i27, i27, 1
        cmu.cmii.i32 i27, i31
        peu.pc1c neq || bru.bra row
        nop 6

        ; (A + B) + bias, to f16, the activation, the og's 8 lanes.
        lsu0.ld.i32 i4, i18, 100 || vau.add.f32 v6, v0, v2         ; bias
        vau.add.f32 v7, v1, v3 || lsu0.ld.v128 v10, i19, 0 || lsu1.ld.v128 v11, i19, 16 ; slope; low
        lsu0.ld.v128 v12, i19, 32 || lsu1.ld.v128 v13, i19, 48      ; high; -0
        iau.shl i5, i6, 5 || vau.xor v8, v8, v8
        vau.xor v9, v9, v9
        nop 2
        cmu.cmii.i32 i4, i31 || iau.add i4, i4, i5
        peu.pc1c neq || lsu0.ld.v128 v8, i4, 0 || lsu1.ld.v128 v9, i4, 16 ; no bias: add +0
        nop 4
        vau.add.f32 v6, v6, v8 || lsu0.ld.i32 i1, i18, 64           ; out
        vau.add.f32 v7, v7, v9
        vau.cvt.f16.f32 v6, v6
        vau.cvt.f16.f32 v7, v7
        nop
        cmu.vshuf.i32 v7, v7, 0x4A                                  ; lanes 4-7 from the high half's 0-3
        vau.or v6, v6, v7 || iau.shl i2, i6, 4
        vau.mac.f16 v13, v6, v10 || iau.add i1, i1, i2
        nop 2
        vau.max.f16 v6, v6, v13 || iau.add i6, i6, 1
        iau.sub i7, i7, 1
        vau.max.f16 v6, v6, v11
        cmu.cmii.i32 i7, i31
        vau.min.f16 v6, v6, v12
        peu.pc1c neq || bru.bra og_loop
        nop
        lsu0.st.v128 v6, i1, 0
        nop 4
        bru.swih 0

; fc_run: A (v0 low outputs, v1 high) += even channels, B (v2, v3) += odd channels over the
; vectors from i1 to i5 (its last, inclusive), 16 bytes apart; i2 the weights (128 bytes per
; vector). Leaves i2 32 bytes past the run's weights; uses v4-v23, i3 and i4.
; Each pass: vector j's broadcasts and macs, its weights' conversions, the next vector's loads
; and conversions (the next vector's address stops at the last one).
fc_run: lsu0.ld.v64 v4, i1, 0 || lsu1.ld.v64 v5, i1, 8 || iau.sub i3, i5, i1
        lsu0.ld.v128 v16, i2, 0 || lsu1.ld.v128 v17, i2, 16 || iau.shr i3, i3, 4
        iau.add i3, i3, 1                                           ; vectors
        iau.add i1, i1, 16
        iau.minu i1, i1, i5
        vau.cvt.f32.f16 v6, v4 || iau.add i2, i2, 32
        vau.cvt.f32.f16 v7, v5 || bru.rpl i3, fc_end
        vau.cvt.f32.f16 v22, v16 || cmu.vshuf.i32 v20, v16, 0xEE
        vau.cvt.f32.f16 v23, v20 || cmu.vshuf.i32 v8, v6, 0x00
        vau.mac.f32 v0, v8, v22 || cmu.vshuf.i32 v9, v6, 0x55
        vau.mac.f32 v1, v8, v23 || cmu.vshuf.i32 v10, v6, 0xAA || lsu0.ldi.v128 v18, i2, 16
        vau.cvt.f32.f16 v22, v17 || cmu.vshuf.i32 v20, v17, 0xEE
        vau.cvt.f32.f16 v23, v20 || cmu.vshuf.i32 v11, v6, 0xFF
        vau.mac.f32 v2, v9, v22 || cmu.vshuf.i32 v12, v7, 0x00
        vau.mac.f32 v3, v9, v23 || cmu.vshuf.i32 v13, v7, 0x55 || lsu0.ldi.v128 v19, i2, 16
        vau.cvt.f32.f16 v22, v18 || cmu.vshuf.i32 v20, v18, 0xEE
        vau.cvt.f32.f16 v23, v20 || cmu.vshuf.i32 v14, v7, 0xAA || lsu0.ld.v64 v4, i1, 0
        vau.mac.f32 v0, v10, v22 || cmu.vshuf.i32 v15, v7, 0xFF || lsu0.ld.v64 v5, i1, 8
        vau.mac.f32 v1, v10, v23 || iau.add i1, i1, 16
        vau.cvt.f32.f16 v22, v19 || cmu.vshuf.i32 v20, v19, 0xEE || iau.minu i1, i1, i5
        vau.cvt.f32.f16 v23, v20 || lsu0.ldi.v128 v16, i2, 16
        vau.mac.f32 v2, v11, v22
        vau.mac.f32 v3, v11, v23
        vau.cvt.f32.f16 v6, v4
        vau.cvt.f32.f16 v7, v5 || lsu0.ldi.v128 v17, i2, 16
        vau.cvt.f32.f16 v22, v16 || cmu.vshuf.i32 v20, v16, 0xEE
        vau.cvt.f32.f16 v23, v20
        vau.mac.f32 v0, v12, v22
        vau.mac.f32 v1, v12, v23 || lsu0.ldi.v128 v18, i2, 16
        vau.cvt.f32.f16 v22, v17 || cmu.vshuf.i32 v20, v17, 0xEE
        vau.cvt.f32.f16 v23, v20
        vau.mac.f32 v2, v13, v22
        vau.mac.f32 v3, v13, v23 || lsu0.ldi.v128 v19, i2, 16
        vau.cvt.f32.f16 v22, v18 || cmu.vshuf.i32 v20, v18, 0xEE
        vau.cvt.f32.f16 v23, v20
        vau.mac.f32 v0, v14, v22
        vau.mac.f32 v1, v14, v23 || lsu0.ldi.v128 v16, i2, 16
        vau.cvt.f32.f16 v22, v19 || cmu.vshuf.i32 v20, v19, 0xEE
        vau.cvt.f32.f16 v23, v20
        vau.mac.f32 v2, v15, v22
        vau.mac.f32 v3, v15, v23 || lsu0.ldi.v128 v17, i2, 16
fc_end: bru.ret
        nop 6
