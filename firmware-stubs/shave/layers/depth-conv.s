; depthConv: depthwise 2-D convolution (groups = C in = C out) of an HWC8 input to an HWC8
; output, any kernel kh x kw, strides sy, sx, zero padding, dilation 1, an optional bias and a
; fused activation; eight channels per vector (emu/graph/layers/depth-conv.ts states the same,
; with the weights' packer).
;
; Job (emu/graph/job.ts), split by rows: the share is output rows first .. first+count-1. in0
; and out are HWC8 (cStride 2; whole 8-lane vectors are read and written). Params (words):
; 0 kh, 1 kw, 2 sy, 3 sx, 4 pad top, 5 pad left, 6 pad bottom, 7 pad right, 8-11 the activation
; (emu/graph/layers/activation.ts: kind, then slope, low, high as f16; the kernel uses the last
; three: out = min(max(max(x, -0 + x * slope), low), high)).
;
; Weights (f32): per group of 8 channels (og), per tap (ky, kx) row-major, the 8 channels'
; weights (32 bytes), zero past C; all finite. Bias: f32 per channel, 8 per og; or none.
;
; Arithmetic: per output lane one f32 accumulator from +0; each tap inside the image adds its
; term with one vau.mac.f32 (the f16 x f16 product is exact in f32), taps in column-major order
; (kx, then ky). Then acc + bias in f32, rounded once to f16, then the activation in f16.
;
; Per og and output row the accumulators (f32, 32 bytes a pixel) live in scratch. A tap column
; kx reaches the same pixels x in every row, so its rows go three at a time through one loop:
; two pixels a pass, 24 cycles for 48 MACs (it converts the next pair's inputs while it
; multiplies this pair's, and keeps each pair's loads and stores inside its pass). Rows left
; over go one at a time through a loop of 6 cycles a pixel, software-pipelined two deep: its
; first pass stores the pixel before the first back unchanged (it adds +0 x w, hence finite
; weights), its extra last pass only loads. Input addresses stop at the last pixel, so the
; loops never read past a row. A last loop adds the bias, rounds, applies the activation and
; stores, two pixels a pass (the second one's addresses stop at the row's last pixel).
;
; Scratch (depth-conv.ts scratchBytes): 128 bytes of variables, 48 bytes per kx (depth-conv.s
; kx_scan), then the accumulators of slots -1 (the one-row loop's first store, when it starts
; at x = 0) to Wout.
;
; Registers: i18 job, i19 scratch, i20 in xStride, i21 in yStride, i22 kw, i24 sx * xStride,
; i25 the accumulators (slot 0), i26 og, i27 y, i31 zero; per row i23 its input at ky0 for
; this og, i17 the weights of (ky0, kx = 0), i30 the tap rows inside the image; per column
; i15 its kx entry, i16 kx, i14 its input, i28 its weights, i29 rows left.
        .code
dconv:  lsu0.ld.i32 i19, i18, 112 || lsu1.ld.i32 i20, i18, 24      ; scratch; in xStride
        lsu0.ld.i32 i21, i18, 20 || lsu1.ld.i32 i22, i18, 132      ; in yStride; kw
        lsu0.ld.i32 i23, i18, 128 || lsu1.ld.i32 i24, i18, 12      ; kh; W
        lsu0.ld.i32 i25, i18, 8 || lsu1.ld.i32 i26, i18, 76        ; H; Wout
        lsu0.ld.i32 i27, i18, 88 || lsu1.ld.i32 i29, i18, 140      ; out xStride; sx
        lsu0.ld.u16 i1, i18, 164 || lsu1.ld.u16 i2, i18, 168       ; slope; low
        lsu0.ld.u16 i3, i18, 172 || lsu1.ld.i32 i4, i18, 4         ; high; C
        lsu0.ld.i32 i5, i18, 100 || lsu1.ld.i32 i6, i18, 136       ; bias; sy
        lsu0.ld.i32 i7, i18, 144 || lsu1.ld.i32 i8, i18, 148       ; pad top; pad left
        lsu0.ld.i32 i9, i18, 104 || lsu1.ld.i32 i10, i18, 108      ; first; count
        lsu0.ld.i32 i11, i18, 64 || lsu1.ld.i32 i12, i18, 84       ; out; out yStride
        lsu0.ld.i32 i13, i18, 0 || iau.xor i31, i31, i31           ; in; zero
        nop 4
        cmu.bcst.i16 v0, i1 || iau.sub i25, i25, 1 || lsu0.st.i32 i23, i19, 68    ; slope; H - 1; kh
        cmu.bcst.i16 v1, i2 || iau.add i4, i4, 7 || lsu0.st.i32 i25, i19, 72      ; low; H - 1
        cmu.bcst.i16 v2, i3 || iau.shr i4, i4, 3 || lsu0.st.i32 i6, i19, 76       ; high; Cv; sy
        lsu0.ldil i1, 0x8000 || iau.add i10, i10, i9 || lsu1.st.i32 i7, i19, 80   ; -0; y end; pad top
        cmu.bcst.i16 v3, i1 || iau.mul i24, i29, i20 || lsu0.st.i32 i4, i19, 64   ; Cv; step = sx * xStride
        lsu0.st.v128 v0, i19, 0 || lsu1.st.v128 v1, i19, 16 || iau.mul i1, i23, i22 ; kh * kw
        lsu0.st.v128 v2, i19, 32 || lsu1.st.v128 v3, i19, 48 || iau.shl i2, i22, 4
        lsu0.st.i32 i10, i19, 84 || lsu1.st.i32 i26, i19, 88 || iau.add i25, i19, i2  ; y end; Wout
        lsu0.st.i32 i5, i19, 96 || lsu1.st.i32 i11, i19, 100 || iau.shl i1, i1, 5    ; bias; out; weights per og
        lsu0.st.i32 i12, i19, 104 || lsu1.st.i32 i1, i19, 112 || iau.add i25, i25, 160 ; out yStride; weights per og
        lsu0.st.i32 i13, i19, 116 || lsu1.st.i32 i8, i19, 120 || iau.add i25, i25, i2 ; in; pad left
        lsu0.st.i32 i27, i19, 124 || iau.add i15, i19, 128          ; out xStride; the kx table
        iau.add i25, i25, i2                                        ; slot 0: after 48 bytes per kx and slot -1
        ; Per kx (48 bytes): the accumulators of the first x whose tap is inside the image (slot
        ; a), of the second (slot b, or a again), how many x (n <= 0: none), the input offset at
        ; slot a, (n - 1) steps, min(step, (n - 1) steps), the last slot, passes of the
        ; three-row loop ((n + 1) / 2) and of the one-row loop (n + 1), slot a - 32.
        lsu1.ld.i32 i14, i18, 12 || iau.xor i16, i16, i16           ; W; kx = 0
        nop 4
        iau.sub i14, i14, 1
kx_scan:
        iau.sub i1, i16, i8 || lsu0.ldil i2, 0                       ; ix at x = 0; x = 0
lead:   cmu.cmii.i32 i1, i31
        peu.pc1c gte || bru.bra lead_done
        nop 6
        iau.add i2, i2, 1
        iau.add i1, i1, i29
        cmu.cmii.i32 i2, i26
        peu.pc1c lt || bru.bra lead
        nop 6
lead_done:                                                          ; i2 xs, i1 its ix
        iau.sub i3, i26, 1
        iau.mul i4, i3, i29
        nop
        iau.add i4, i4, i16
        iau.sub i4, i4, i8                                          ; ix at x = Wout - 1
trail:  cmu.cmii.i32 i4, i14
        peu.pc1c lte || bru.bra trail_done
        nop 6
        iau.sub i3, i3, 1
        iau.sub i4, i4, i29
        cmu.cmii.i32 i3, i31
        peu.pc1c gte || bru.bra trail
        nop 6
trail_done:                                                         ; i3 xe
        iau.sub i3, i3, i2
        iau.mul i1, i1, i20 || lsu0.st.i32 i3, i15, 4               ; n - 1; input offset
        iau.add i4, i3, 1
        iau.shl i2, i2, 5 || lsu0.st.i32 i4, i15, 8                 ; n
        iau.add i2, i2, i25 || lsu0.st.i32 i1, i15, 12              ; slot a
        iau.mul i5, i3, i24 || lsu0.st.i32 i2, i15, 0               ; (n - 1) steps
        iau.add i6, i4, 1
        iau.shr i7, i6, 1 || lsu0.st.i32 i5, i15, 16
        iau.min i5, i5, i24 || lsu0.st.i32 i7, i15, 28              ; b's input offset from a; three-row passes
        iau.shl i3, i3, 5 || lsu0.st.i32 i5, i15, 20
        iau.add i3, i3, i2 || lsu0.st.i32 i6, i15, 32               ; last slot; one-row passes
        iau.sub i1, i2, 32 || lsu0.st.i32 i3, i15, 24
        iau.add i2, i2, 32 || lsu0.st.i32 i1, i15, 36               ; slot a - 32
        iau.minu i2, i2, i3
        iau.add i16, i16, 1 || lsu0.st.i32 i2, i15, 4               ; slot b
        cmu.cmii.i32 i16, i22
        peu.pc1c lt || bru.bra kx_scan
        iau.add i15, i15, 48
        nop 5
        iau.xor i26, i26, i26                                       ; og = 0

og_loop:
        ; The og's bias (or 0: none) and weights.
        lsu0.ld.i32 i1, i19, 96 || lsu1.ld.i32 i2, i19, 112        ; bias; weights per og
        lsu0.ld.i32 i3, i18, 96 || iau.shl i4, i26, 5               ; weights
        nop 4
        cmu.cmii.i32 i1, i31 || iau.add i1, i1, i4
        cmu.cmovii i1, i31, eq || iau.mul i2, i2, i26
        lsu0.st.i32 i1, i19, 108
        iau.add i2, i2, i3
        lsu0.st.i32 i2, i19, 92 || lsu1.ld.i32 i27, i18, 104       ; the og's weights; y = first
        nop 4

y_loop:
        ; Accumulators of the row to +0.
        lsu0.ld.i32 i5, i19, 88 || iau.add i1, i25, 0 || vau.xor v0, v0, v0 ; Wout
        lsu0.ld.i32 i6, i19, 76 || lsu1.ld.i32 i7, i19, 80          ; sy; pad top
        lsu0.ld.i32 i8, i19, 68 || lsu1.ld.i32 i9, i19, 72          ; kh; H - 1
        lsu0.ld.i32 i23, i19, 116 || lsu1.ld.i32 i17, i19, 92       ; in; the og's weights
        nop 2
        bru.rpl i5, zeroed
        lsu0.sti.v128 v0, i1, 16
        lsu0.sti.v128 v0, i1, 16
zeroed: iau.mul i6, i27, i6
        iau.shl i10, i26, 4
        iau.sub i6, i6, i7                                          ; iy
        iau.sub i28, i31, i6
        iau.max i28, i28, i31                                       ; ky0 = max(0, -iy)
        iau.sub i29, i9, i6
        iau.sub i8, i8, 1
        iau.min i29, i29, i8                                        ; ky1 = min(kh - 1, H - 1 - iy)
        iau.add i6, i6, i28
        iau.mul i6, i6, i21
        iau.mul i7, i28, i22
        iau.add i23, i23, i10
        iau.add i23, i23, i6                                        ; input row iy + ky0, this og
        iau.shl i7, i7, 5
        iau.add i17, i17, i7                                        ; weights of tap row ky0
        iau.sub i30, i29, i28
        iau.add i30, i30, 1                                         ; tap rows inside the image
        cmu.cmii.i32 i30, i31
        peu.pc1c lte || bru.bra finish
        iau.add i15, i19, 128                                       ; the kx table
        lsu0.ldil i16, 0                                            ; kx = 0
        nop 4

; Tap column kx: its rows ky0 .. ky1 three at a time, then one at a time.
column: lsu0.ld.i32 i0, i15, 8 || lsu1.ld.i32 i1, i15, 12          ; n; input offset
        iau.shl i28, i16, 5
        iau.add i28, i28, i17                                       ; weights of (ky0, kx)
        cmu.cpii i29, i30                                           ; rows left
        nop 2
        cmu.cmii.i32 i0, i31 || iau.add i14, i23, i1                ; input of (ky0, kx) at x = xs
        peu.pc1c lte || bru.bra col_next                            ; no x reaches this column
        nop 6
col_rows:
        iau.sub i0, i29, 3
        cmu.cmii.i32 i0, i31
        peu.pc1c lt || bru.bra col_single
        nop 6
        ; Three rows: a0 b0 a1 b1 a2 b2 (i0-i5) their inputs of pixels a and b, i6-i8 their
        ; last pixels, i9 two steps, i10 i11 slots a and b, i12 the last slot, i13 passes.
        lsu0.ld.v128 v16, i28, 0 || lsu1.ld.v128 v17, i28, 16 || iau.shl i6, i22, 5 ; row 0's weights
        lsu0.ld.i32 i10, i15, 0 || lsu1.ld.i32 i11, i15, 4 || iau.add i7, i28, i6
        lsu0.ld.v128 v18, i7, 0 || lsu1.ld.v128 v19, i7, 16 || iau.add i7, i7, i6   ; row 1's
        lsu0.ld.v128 v20, i7, 0 || lsu1.ld.v128 v21, i7, 16 || iau.add i2, i14, i21 ; row 2's; a1
        lsu0.ld.i32 i6, i15, 16 || lsu1.ld.i32 i9, i15, 20 || iau.add i4, i2, i21   ; (n - 1) steps; b - a; a2
        lsu0.ld.i32 i12, i15, 24 || lsu1.ld.i32 i13, i15, 28 || cmu.cpii i0, i14    ; last slot; passes; a0
        nop 4
        iau.add i6, i6, i0
        iau.add i1, i0, i9
        iau.add i3, i2, i9 || lsu0.ld.v64 v22, i0, 0 || lsu1.ld.v64 v23, i0, 8       ; pair 0: row 0, pixel a
        iau.add i5, i4, i9 || lsu0.ld.v64 v24, i1, 0 || lsu1.ld.v64 v25, i1, 8       ; pixel b
        iau.add i7, i6, i21 || lsu0.ld.v64 v26, i2, 0 || lsu1.ld.v64 v27, i2, 8      ; row 1
        iau.add i8, i7, i21 || lsu0.ld.v64 v28, i3, 0 || lsu1.ld.v64 v29, i3, 8
        iau.add i9, i24, i24
        vau.cvt.f32.f16 v4, v22 || iau.add i0, i0, i9               ; rows 0 and 1 move on to pair 1
        vau.cvt.f32.f16 v5, v23 || iau.minu i0, i0, i6
        vau.cvt.f32.f16 v6, v24 || iau.add i1, i0, i24
        vau.cvt.f32.f16 v7, v25 || iau.minu i1, i1, i6
        vau.cvt.f32.f16 v8, v26 || iau.add i2, i2, i9 || lsu0.ld.v64 v22, i4, 0 || lsu1.ld.v64 v23, i4, 8 ; row 2
        vau.cvt.f32.f16 v9, v27 || iau.minu i2, i2, i7 || lsu0.ld.v64 v24, i5, 0 || lsu1.ld.v64 v25, i5, 8
        vau.cvt.f32.f16 v10, v28 || iau.add i3, i2, i24
        iau.minu i3, i3, i7
        nop 2
        bru.rpl i13, three_end
        lsu0.ld.v128 v0, i10, 0 || vau.cvt.f32.f16 v11, v29 || iau.add i4, i4, i9
        lsu0.ld.v128 v1, i10, 16 || vau.cvt.f32.f16 v12, v22 || iau.minu i4, i4, i8
        lsu0.ld.v128 v2, i11, 0 || vau.cvt.f32.f16 v13, v23 || iau.add i5, i4, i24
        lsu0.ld.v128 v3, i11, 16 || vau.cvt.f32.f16 v14, v24 || iau.minu i5, i5, i8
        vau.cvt.f32.f16 v15, v25
        vau.mac.f32 v0, v4, v16
        vau.mac.f32 v1, v5, v17
        vau.mac.f32 v2, v6, v16
        vau.mac.f32 v3, v7, v17 || lsu0.ld.v64 v22, i0, 0
        vau.mac.f32 v0, v8, v18 || lsu0.ld.v64 v23, i0, 8
        vau.mac.f32 v1, v9, v19 || lsu0.ld.v64 v24, i1, 0
        vau.mac.f32 v2, v10, v18 || lsu0.ld.v64 v25, i1, 8
        vau.mac.f32 v3, v11, v19 || lsu0.ld.v64 v26, i2, 0 || iau.add i0, i0, i9
        vau.mac.f32 v0, v12, v20 || lsu0.ld.v64 v27, i2, 8 || iau.minu i0, i0, i6
        vau.mac.f32 v1, v13, v21 || lsu0.ld.v64 v28, i3, 0 || iau.add i1, i0, i24
        vau.mac.f32 v2, v14, v20 || lsu0.ld.v64 v29, i3, 8 || iau.minu i1, i1, i6
        vau.mac.f32 v3, v15, v21 || lsu0.st.v128 v0, i10, 0 || iau.add i2, i2, i9
        vau.cvt.f32.f16 v4, v22 || lsu0.st.v128 v1, i10, 16 || iau.minu i2, i2, i7
        vau.cvt.f32.f16 v5, v23 || lsu0.st.v128 v2, i11, 0 || iau.add i3, i2, i24
        vau.cvt.f32.f16 v6, v24 || lsu0.st.v128 v3, i11, 16 || iau.minu i3, i3, i7
        vau.cvt.f32.f16 v7, v25 || lsu0.ld.v64 v22, i4, 0 || iau.add i10, i10, 64
        vau.cvt.f32.f16 v8, v26 || lsu0.ld.v64 v23, i4, 8 || iau.add i11, i10, 32
        vau.cvt.f32.f16 v9, v27 || lsu0.ld.v64 v24, i5, 0 || iau.minu i11, i11, i12
        vau.cvt.f32.f16 v10, v28 || lsu0.ld.v64 v25, i5, 8
three_end:
        iau.add i0, i21, i21
        iau.add i0, i0, i21                                         ; 3 yStride
        iau.shl i1, i22, 5
        iau.add i2, i1, i1
        iau.add i1, i1, i2                                          ; 3 tap rows of weights
        iau.sub i29, i29, 3
        bru.bra col_rows
        iau.add i14, i14, i0                                        ; three rows down
        iau.add i28, i28, i1
        nop 4

; One row: the pipelined loop (6 cycles a pixel). Its first pass stores slot a - 32 back as the
; prologue loaded it (+0 x a finite weight); its extra last pass only loads.
col_single:
        cmu.cmii.i32 i29, i31
        peu.pc1c eq || bru.bra col_next
        nop 6
        lsu0.ld.v128 v16, i28, 0 || lsu1.ld.v128 v17, i28, 16 || cmu.cpii i1, i14 ; the tap's weights; input of x = xs
        lsu0.ld.i32 i2, i15, 0 || lsu1.ld.i32 i3, i15, 36           ; slot a; slot a - 32
        lsu0.ld.i32 i5, i15, 16 || lsu1.ld.i32 i6, i15, 32          ; (n - 1) steps; n + 1 passes
        nop 4
        iau.add i5, i5, i1 || lsu0.ld.v128 v0, i3, 0 || lsu1.ld.v128 v1, i3, 16 || vau.xor v5, v5, v5
        iau.add i4, i24, 0 || vau.xor v6, v6, v6
        nop 3
        bru.rpl i6, one_end
        lsu0.ld.v64 v4, i1, 0 || vau.cvt.f32.f16 v7, v5
        lsu0.ld.v64 v5, i1, 8 || vau.mac.f32 v0, v6, v16 || iau.add i1, i1, i4
        lsu0.ldi.v128 v0, i2, 16 || vau.mac.f32 v1, v7, v17 || iau.minu i1, i1, i5
        lsu0.ldi.v128 v1, i2, 16
        lsu0.sti.v128 v0, i3, 16
        lsu0.sti.v128 v1, i3, 16 || vau.cvt.f32.f16 v6, v4
one_end:
        iau.sub i29, i29, 1
        iau.shl i0, i22, 5
        bru.bra col_single
        iau.add i14, i14, i21                                       ; a row down
        iau.add i28, i28, i0
        nop 4

col_next:
        iau.add i16, i16, 1
        cmu.cmii.i32 i16, i22
        peu.pc1c lt || bru.bra column
        iau.add i15, i15, 48
        nop 5

; acc + bias, to f16, the activation, stored: pixels a and b = min(a + 1, Wout - 1) a pass.
finish: lsu0.ld.i32 i5, i19, 88 || lsu1.ld.i32 i4, i19, 100        ; Wout; out
        lsu0.ld.i32 i6, i19, 104 || lsu1.ld.i32 i9, i19, 124        ; out yStride; out xStride
        lsu0.ld.v128 v10, i19, 0 || lsu1.ld.v128 v11, i19, 16 || vau.xor v20, v20, v20 ; slope; low
        lsu0.ld.v128 v12, i19, 32 || lsu1.ld.v128 v13, i19, 48 || vau.xor v21, v21, v21 ; high; -0
        lsu0.ld.i32 i1, i19, 108                                    ; the og's bias
        nop 4
        cmu.cmii.i32 i1, i31
        peu.pc1c neq || lsu0.ld.v128 v20, i1, 0 || lsu1.ld.v128 v21, i1, 16
        iau.mul i6, i6, i27
        iau.sub i3, i5, 1
        iau.shl i7, i26, 4
        iau.add i4, i4, i6
        iau.add i4, i4, i7                                          ; a's output (x = 0)
        iau.mul i10, i3, i9
        iau.shl i3, i3, 5
        iau.add i3, i3, i25                                         ; the last pixel's accumulators
        iau.add i10, i10, i4                                        ; the last pixel's output
        iau.add i8, i9, i9
        iau.add i5, i5, 1
        iau.shr i11, i5, 1                                          ; passes
        iau.add i1, i25, 0
        iau.add i2, i1, 32
        iau.minu i2, i2, i3
        iau.add i5, i4, i9
        iau.minu i5, i5, i10
        bru.rpl i11, fin_end
        lsu0.ld.v128 v0, i1, 0
        lsu0.ld.v128 v1, i1, 16
        lsu0.ld.v128 v2, i2, 0
        lsu0.ld.v128 v3, i2, 16
        iau.add i1, i1, 64
        vau.add.f32 v0, v0, v20 || iau.add i2, i1, 32
        vau.add.f32 v1, v1, v21 || iau.minu i2, i2, i3
        vau.add.f32 v2, v2, v20 || iau.add i6, i4, i8
        vau.add.f32 v3, v3, v21 || iau.add i7, i6, i9
        vau.cvt.f16.f32 v0, v0 || iau.minu i7, i7, i10
        vau.cvt.f16.f32 v1, v1
        vau.cvt.f16.f32 v2, v2 || cmu.cpvv v14, v13
        vau.cvt.f16.f32 v3, v3 || cmu.vshuf.i32 v1, v1, 0x4A
        vau.or v0, v0, v1 || cmu.cpvv v15, v13
        vau.mac.f16 v14, v0, v10 || cmu.vshuf.i32 v3, v3, 0x4A
        vau.or v2, v2, v3
        vau.mac.f16 v15, v2, v10
        vau.max.f16 v0, v0, v14
        nop
        vau.max.f16 v2, v2, v15
        vau.max.f16 v0, v0, v11
        vau.max.f16 v2, v2, v11
        vau.min.f16 v0, v0, v12
        vau.min.f16 v2, v2, v12
        lsu0.st.v128 v0, i4, 0
        lsu0.st.v128 v2, i5, 0 || iau.add i4, i6, 0 || cmu.cpii i5, i7
fin_end:
        iau.add i27, i27, 1 || lsu0.ld.i32 i1, i19, 84              ; y end
        nop 4
        cmu.cmii.i32 i27, i1
        peu.pc1c lt || bru.bra y_loop
        nop 6
        iau.add i26, i26, 1 || lsu0.ld.i32 i1, i19, 64              ; Cv
        nop 4
        cmu.cmii.i32 i26, i1
        peu.pc1c lt || bru.bra og_loop
        nop 6
        bru.swih 0
