; conv: 2-D convolution of an HWC8 input to an HWC8 output, any kernel kh x kw, strides sy, sx,
; zero padding (top, left, bottom, right), dilation 1, dense or grouped, an optional bias and a
; fused activation (emu/graph/layers/conv.ts states the same, with the weights' packer).
;
; Job (emu/graph/job.ts), split by rows: the share is output rows first .. first+count-1, every
; x and every channel. in0 and out are HWC8 (cStride 2; the kernel reads and writes whole 8-lane
; vectors, so lanes past C are read and written too). Params (words): 0 kh, 1 kw, 2 sy, 3 sx,
; 4 pad top, 5 pad left, 6 pad bottom, 7 pad right, 8 groups, 9 outputs, 10-13 the activation
; (emu/graph/layers/activation.ts: kind, then slope, low, high as f16; the kernel uses the last
; three: out = min(max(max(x, -0 + x * slope), low), high)).
;
; Weights (f32, in the constant section): a header of one 16-byte entry per group of 8 output
; channels (og): [first input vector, vectors v, byte offset of its weights, 0]; at the offset,
; for each tap (ky, kx) in row-major order, each of the v input vectors (8 channels each, from
; the first), each channel k of the vector: the 8 output channels' weights as two f32 vectors
; (outputs 0-3, then 4-7), 256 bytes per input vector. Channels outside an output's group, past
; C or past the outputs are zero. 32 bytes follow the last og (the loop reads that far ahead).
; Bias: f32 per output channel, 8 per og (32 bytes), zero past the outputs; or none.
;
; Arithmetic: per output lane two f32 accumulators from +0, A for even channels k of each input
; vector and B for odd ones; each term is one vau.mac.f32 (the f16 x f16 product is exact in
; f32, the sum rounded to f32), in the order taps (ky, kx) row-major, then vectors, then k.
; Padding taps are skipped. Then (A + B) + bias in f32, rounded once to f16, then the
; activation in f16 (vau.mac.f16, max, max, min). Zero-weight terms of real channels are still
; multiplied (an infinity there gives NaN, as in the reference).
;
; The inner loop (acc_run) is 18 cycles per input vector (64 MACs): the VAU does 16 macs and
; the two conversions of the next vector, the CMU broadcasts each input lane with vshuf.i32,
; the LSUs bring one weight vector per cycle. The input pointer moves by a table of byte deltas
; in scratch, so that one loop covers a whole window: table 1 (built per og) for windows with
; no padding, table 2 (16s ending in 0, 0) for one run of a padded window. A pixel's A and B
; go to scratch; a loop per row and og then adds them and the bias, rounds, applies the
; activation and stores, two pixels a pass (the second one's addresses stop at the row's last
; pixel).
;
; Scratch (conv.ts scratchBytes): 256 bytes of variables, then table 2 (kw * Cv + 2 words, Cv
; the input's vectors per pixel), then table 1 (kh * kw * Cv + 2 words, rounded up to 16
; bytes), then A and B of each pixel of a row (64 bytes a pixel).
;
; Registers: i18 job, i19 scratch, i20 in xStride, i21 in yStride, i22 kw - 1, i24 W - 1,
; i27 out xStride, i28 sx * in xStride, i29 sx, i31 zero; per og i6 og, i7 its weights, i10 the
; passes of a whole window; per row i12 y, i14 zero if no tap row is padded; per pixel i0 pixels
; left, i15 -ix, i16 its accumulators in scratch, i17 the window's origin (input vector 'first'
; at (iy, ix)).
        .code
conv:   lsu0.ld.i32 i19, i18, 112 || lsu1.ld.i32 i20, i18, 24      ; scratch; in xStride
        lsu0.ld.i32 i21, i18, 20 || lsu1.ld.i32 i22, i18, 132      ; in yStride; kw
        lsu0.ld.i32 i23, i18, 128 || lsu1.ld.i32 i24, i18, 12      ; kh; W
        lsu0.ld.i32 i25, i18, 8 || lsu1.ld.i32 i26, i18, 76        ; H; Wout
        lsu0.ld.i32 i27, i18, 88 || lsu1.ld.i32 i29, i18, 140      ; out xStride; sx
        lsu0.ld.u16 i1, i18, 172 || lsu1.ld.u16 i2, i18, 176       ; slope; low
        lsu0.ld.u16 i3, i18, 180 || lsu1.ld.i32 i4, i18, 4         ; high; C
        lsu0.ld.i32 i5, i18, 68 || lsu1.ld.i32 i6, i18, 100        ; outputs; bias
        lsu0.ld.i32 i7, i18, 136 || lsu1.ld.i32 i8, i18, 144       ; sy; pad top
        lsu0.ld.i32 i9, i18, 148 || lsu1.ld.i32 i10, i18, 104      ; pad left; first
        lsu0.ld.i32 i11, i18, 108 || iau.xor i31, i31, i31         ; count; zero
        nop 4
        cmu.bcst.i16 v0, i1 || iau.sub i24, i24, 1 || lsu0.st.i32 i23, i19, 104   ; slope; W - 1; kh
        cmu.bcst.i16 v1, i2 || iau.sub i25, i25, 1 || lsu0.st.i32 i26, i19, 112   ; low; H - 1; Wout
        cmu.bcst.i16 v2, i3 || iau.mul i28, i29, i20 || lsu0.st.i32 i25, i19, 108 ; high; sx * xStride; H - 1
        lsu0.ldil i1, 0x8000 || iau.add i4, i4, 7 || vau.xor v4, v4, v4
        cmu.bcst.i16 v3, i1 || iau.shr i4, i4, 3 || lsu0.st.i32 i7, i19, 152      ; -0; Cv; sy
        lsu0.st.v128 v0, i19, 0 || lsu1.st.v128 v1, i19, 16 || iau.mul i3, i22, i4  ; M = kw * Cv
        lsu0.st.v128 v2, i19, 32 || lsu1.st.v128 v3, i19, 48 || iau.add i5, i5, 7
        lsu0.st.v128 v4, i19, 64 || lsu1.st.v128 v4, i19, 80 || iau.shr i5, i5, 3 ; a zero bias; G8
        lsu0.st.i32 i5, i19, 136 || lsu1.st.i32 i8, i19, 156 || iau.add i11, i11, i10 ; G8; pad top
        lsu0.st.i32 i9, i19, 160 || lsu1.st.i32 i11, i19, 148 || iau.add i1, i19, 256 ; pad left; y end
        ; No bias: every og reads the zero block.
        cmu.cmii.i32 i6, i31 || lsu0.ldil i2, 32 || iau.add i4, i19, 64
        cmu.cmovii i6, i4, eq
        cmu.cmovii i2, i31, eq
        lsu0.st.i32 i6, i19, 140 || lsu1.st.i32 i2, i19, 144 || iau.sub i22, i22, 1 ; bias; its stride; kw - 1
        ; Table 2: M deltas of 16, then two zeros. A run of n vectors starts n words before t2base.
        lsu0.ldil i2, 16
        bru.rpl i3, t2fill
        lsu0.sti.i32 i2, i1, 4
t2fill: lsu0.sti.i32 i31, i1, 4
        lsu0.st.i32 i1, i19, 96 || lsu1.st.i32 i31, i1, 0 || iau.add i1, i1, 4 ; t2base
        lsu0.st.i32 i1, i19, 100 || iau.mul i2, i23, i3             ; table 1; kh * kw * Cv
        nop
        iau.shl i2, i2, 2
        iau.add i2, i2, 23
        iau.and i2, i2, -16
        iau.add i2, i2, i1
        lsu0.st.i32 i2, i19, 172 || iau.xor i6, i6, i6              ; the row's accumulators; og = 0

og_loop:
        iau.shl i1, i6, 4 || lsu0.ld.i32 i2, i18, 96                ; og * 16; weights
        lsu0.ld.i32 i9, i18, 0 || lsu1.ld.i32 i10, i19, 104         ; in; kh
        nop 4
        iau.add i1, i1, i2
        lsu0.ld.i32 i3, i1, 0 || lsu1.ld.i32 i8, i1, 4              ; first vector, vectors
        lsu0.ld.i32 i7, i1, 8 || iau.add i5, i22, 1                 ; offset; kw
        nop 4
        iau.add i7, i7, i2 || lsu0.st.i32 i8, i19, 124              ; the og's weights; vectors
        iau.shl i3, i3, 4
        iau.add i9, i9, i3 || cmu.cpii i13, i8                      ; in + first vector
        iau.mul i5, i5, i8 || lsu0.st.i32 i9, i19, 128              ; kw * v
        iau.shl i4, i8, 4
        iau.sub i4, i4, i20 || lsu1.ld.i32 i1, i19, 100             ; 16 v - xStride: 0 if taps are contiguous
        iau.mul i10, i10, i5 || lsu0.st.i32 i4, i19, 132            ; N = kh * kw * v
        iau.shl i5, i5, 8                                           ; weight bytes per tap row
        lsu0.st.i32 i5, i19, 164 || iau.sub i13, i13, 1             ; v - 1
        ; Table 1 for a whole window: 16 inside a tap, then the step to the next tap or row.
        iau.shl i4, i13, 4 || lsu0.ldil i2, 16
        iau.sub i3, i20, i4                                         ; x jump = xStride - 16 (v - 1)
        iau.mul i11, i22, i20                                       ; (kw - 1) xStride
        nop
        iau.sub i4, i21, i4 || lsu0.ld.i32 i25, i19, 104            ; yStride - 16 (v - 1); kh
        iau.sub i4, i4, i11                                         ; y jump
        nop 3
t1_row: iau.add i11, i22, 0
        cmu.cmii.i32 i11, i31
        peu.pc1c eq || bru.bra t1_last
        nop 6
t1_tap: bru.rpl i13, t1_a
        lsu0.sti.i32 i2, i1, 4
t1_a:   lsu0.sti.i32 i3, i1, 4 || iau.sub i11, i11, 1
        cmu.cmii.i32 i11, i31
        peu.pc1c neq || bru.bra t1_tap
        nop 6
t1_last: bru.rpl i13, t1_b
        lsu0.sti.i32 i2, i1, 4
t1_b:   lsu0.sti.i32 i4, i1, 4 || iau.sub i25, i25, 1
        cmu.cmii.i32 i25, i31
        peu.pc1c neq || bru.bra t1_row
        nop 6
        lsu0.st.i32 i31, i1, -4 || lsu1.st.i32 i31, i1, 0           ; the last vector's delta, and one more
        lsu0.ld.i32 i12, i18, 104                                   ; y = first
        nop 4

y_loop: lsu0.ld.i32 i1, i19, 152 || lsu1.ld.i32 i2, i19, 156        ; sy; pad top
        lsu0.ld.i32 i3, i19, 104 || lsu1.ld.i32 i4, i19, 108        ; kh; H - 1
        lsu0.ld.i32 i13, i19, 128 || lsu1.ld.i32 i16, i19, 172      ; in + first vector; the row's accumulators
        lsu0.ld.i32 i15, i19, 160 || lsu1.ld.i32 i0, i19, 112       ; pad left: -ix at x = 0; Wout
        nop 4
        iau.mul i1, i12, i1
        nop
        iau.sub i1, i1, i2                                          ; iy
        iau.sub i2, i31, i1
        iau.max i2, i2, i31                                         ; ky0 = max(0, -iy)
        iau.sub i4, i4, i1
        iau.sub i3, i3, 1
        iau.min i4, i4, i3                                          ; ky1 = min(kh - 1, H - 1 - iy)
        iau.sub i14, i3, i4
        iau.or i14, i14, i2 || lsu0.st.i32 i2, i19, 116 || lsu1.st.i32 i4, i19, 120
        iau.mul i1, i1, i21
        iau.mul i17, i15, i20
        iau.add i13, i13, i1                                        ; the row's origin at ix = 0
        iau.sub i17, i13, i17                                       ; origin at x = 0

x_loop: iau.max i1, i15, i31                                        ; kx0 = max(0, -ix)
        iau.add i2, i24, i15
        iau.min i2, i2, i22                                         ; kx1 = min(kw - 1, W - 1 - ix)
        iau.sub i3, i22, i2
        iau.or i3, i3, i1
        iau.or i3, i3, i14
        cmu.cmii.i32 i3, i31
        peu.pc1c neq || bru.bra edge
        vau.xor v0, v0, v0 || lsu0.ld.i32 i3, i19, 100              ; accumulators +0; table 1
        vau.xor v1, v1, v1 || iau.add i5, i10, 0
        vau.xor v2, v2, v2
        vau.xor v3, v3, v3
        nop 2
        ; The whole window in one run.
        bru.bal acc_run
        iau.add i1, i17, 0
        iau.add i2, i7, 0
        nop 4

; The pixel's A and B into the row's accumulators (64 bytes a pixel); the next pixel.
acc_done:
        lsu0.st.v128 v0, i16, 0 || lsu1.st.v128 v1, i16, 16 || iau.sub i0, i0, 1
        lsu0.st.v128 v2, i16, 32 || lsu1.st.v128 v3, i16, 48 || iau.sub i15, i15, i29
        cmu.cmii.i32 i0, i31 || iau.add i17, i17, i28
        peu.pc1c neq || bru.bra x_loop
        iau.add i16, i16, 64
        nop 5

; (A + B) + bias, to f16, the activation, stored: pixels a and b = min(a + 1, Wout - 1) a pass.
        lsu0.ld.i32 i5, i19, 112 || lsu1.ld.i32 i4, i18, 64         ; Wout; out
        lsu0.ld.i32 i8, i18, 84 || lsu1.ld.i32 i9, i19, 140         ; out yStride; the og's bias
        lsu0.ld.v128 v10, i19, 0 || lsu1.ld.v128 v11, i19, 16       ; slope; low
        lsu0.ld.v128 v12, i19, 32 || lsu1.ld.v128 v13, i19, 48      ; high; -0
        lsu0.ld.i32 i1, i19, 172                                    ; the row's accumulators
        nop 2
        lsu0.ld.v128 v20, i9, 0 || lsu1.ld.v128 v21, i9, 16 || iau.mul i8, i8, i12
        iau.sub i3, i5, 1
        iau.shl i0, i6, 4
        iau.add i4, i4, i8
        iau.add i4, i4, i0                                          ; a's output (x = 0)
        iau.mul i0, i3, i27
        iau.shl i3, i3, 6
        iau.add i3, i3, i1                                          ; the last pixel's accumulators
        iau.add i0, i0, i4                                          ; the last pixel's output
        iau.add i13, i27, i27
        iau.add i5, i5, 1
        iau.shr i11, i5, 1                                          ; passes
        iau.add i2, i1, 64
        iau.minu i2, i2, i3
        iau.add i5, i4, i27
        iau.minu i5, i5, i0
        bru.rpl i11, fin_end
        lsu0.ld.v128 v0, i1, 0 || lsu1.ld.v128 v4, i2, 0
        lsu0.ld.v128 v2, i1, 32 || lsu1.ld.v128 v6, i2, 32
        lsu0.ld.v128 v1, i1, 16 || lsu1.ld.v128 v5, i2, 16
        lsu0.ld.v128 v3, i1, 48 || lsu1.ld.v128 v7, i2, 48
        iau.add i1, i1, 128
        iau.add i2, i1, 64
        vau.add.f32 v0, v0, v2 || iau.minu i2, i2, i3
        vau.add.f32 v4, v4, v6 || iau.add i8, i4, i13
        vau.add.f32 v1, v1, v3 || iau.add i9, i8, i27
        vau.add.f32 v5, v5, v7 || iau.minu i9, i9, i0
        vau.add.f32 v0, v0, v20
        vau.add.f32 v4, v4, v20
        vau.add.f32 v1, v1, v21
        vau.add.f32 v5, v5, v21
        vau.cvt.f16.f32 v0, v0
        vau.cvt.f16.f32 v4, v4
        vau.cvt.f16.f32 v1, v1 || cmu.cpvv v14, v13
        vau.cvt.f16.f32 v5, v5 || cmu.cpvv v15, v13
        cmu.vshuf.i32 v1, v1, 0x4A                                  ; lanes 4-7 from the high half's 0-3
        vau.or v0, v0, v1 || cmu.vshuf.i32 v5, v5, 0x4A
        vau.or v4, v4, v5
        vau.mac.f16 v14, v0, v10
        vau.mac.f16 v15, v4, v10
        nop
        vau.max.f16 v0, v0, v14
        vau.max.f16 v4, v4, v15
        vau.max.f16 v0, v0, v11
        vau.max.f16 v4, v4, v11
        vau.min.f16 v0, v0, v12
        vau.min.f16 v4, v4, v12
        lsu0.st.v128 v0, i4, 0
        lsu0.st.v128 v4, i5, 0 || iau.add i4, i8, 0 || cmu.cpii i5, i9
fin_end:
        iau.add i12, i12, 1 || lsu0.ld.i32 i1, i19, 148             ; y end
        nop 4
        cmu.cmii.i32 i12, i1
        peu.pc1c neq || bru.bra y_loop
        nop 6
        iau.add i6, i6, 1 || lsu0.ld.i32 i1, i19, 136               ; G8
        lsu0.ld.i32 i2, i19, 140 || lsu1.ld.i32 i3, i19, 144        ; bias, its stride
        nop 4
        iau.add i2, i2, i3
        cmu.cmii.i32 i6, i1 || lsu0.st.i32 i2, i19, 140
        peu.pc1c neq || bru.bra og_loop
        nop 6
        bru.swih 0

; A window with padding: a run per tap row (its taps are contiguous when the og reads whole
; pixels), else a run per tap. i1 kx0, i2 kx1.
edge:   iau.sub i9, i2, i1 || lsu0.ld.i32 i23, i19, 116 || lsu1.ld.i32 i25, i19, 120 ; kx1 - kx0; ky0, ky1
        iau.add i9, i9, 1 || lsu0.ld.i32 i8, i19, 124 || lsu1.ld.i32 i11, i19, 132   ; nx; v; merged
        lsu0.ld.i32 i26, i19, 164                                   ; weight bytes per tap row
        nop 2
        iau.mul i4, i1, i20                                         ; kx0 xStride
        cmu.cmii.i32 i9, i31
        peu.pc1c lte || bru.bra acc_done                              ; no tap column in the image
        iau.sub i13, i25, i23
        iau.add i13, i13, 1                                         ; tap rows
        iau.mul i3, i23, i21 || cmu.cmii.i32 i13, i31               ; ky0 yStride
        iau.mul i5, i1, i8                                          ; kx0 v
        iau.mul i23, i23, i26                                       ; ky0 row weights
        nop
        peu.pc1c lte || bru.bra acc_done                              ; no tap row in the image
        iau.add i25, i17, i4
        iau.add i25, i25, i3                                        ; the first run's input
        iau.shl i5, i5, 8
        iau.add i5, i5, i23
        iau.add i23, i26, 0                                         ; i23: weight bytes per tap row
        iau.add i26, i7, i5                                         ; the first run's weights
        cmu.cmii.i32 i11, i31 || lsu0.ld.i32 i3, i19, 96            ; t2base
        peu.pc1c neq || bru.bra edge_taps
        nop 6
        iau.mul i11, i9, i8                                         ; a run of nx v vectors per tap row
        nop
        iau.shl i4, i11, 2
        iau.sub i8, i3, i4                                          ; its table 2 start
edge_row:
        bru.bal acc_run
        iau.add i1, i25, 0
        iau.add i2, i26, 0
        iau.add i3, i8, 0
        iau.add i5, i11, 0
        iau.add i25, i25, i21                                       ; the next tap row
        iau.add i26, i26, i23
        iau.sub i13, i13, 1
        cmu.cmii.i32 i13, i31
        peu.pc1c neq || bru.bra edge_row
        nop 6
        bru.bra acc_done
        nop 6

; One run per tap: v vectors each; between taps the input moves by xStride, the weights by 256 v.
edge_taps:
        iau.shl i4, i8, 2
        iau.sub i8, i3, i4                                          ; table 2 start for v
        lsu0.st.i32 i9, i19, 168                                    ; nx
edge_trow:
        lsu0.ld.i32 i9, i19, 168 || iau.add i1, i25, 0
        iau.add i2, i26, 0
        nop 3
edge_tap:
        bru.bal acc_run
        iau.add i3, i8, 0
        lsu0.ld.i32 i5, i19, 124                                    ; v
        nop 4
        ; acc_run leaves i1 at the run's last vector and i2 32 bytes past the run's weights.
        iau.shl i4, i5, 4
        iau.sub i4, i20, i4
        iau.add i4, i4, 16
        iau.add i1, i1, i4
        iau.sub i2, i2, 32
        iau.sub i9, i9, 1
        cmu.cmii.i32 i9, i31
        peu.pc1c neq || bru.bra edge_tap
        nop 6
        iau.add i25, i25, i21
        iau.add i26, i26, i23
        iau.sub i13, i13, 1
        cmu.cmii.i32 i13, i31
        peu.pc1c neq || bru.bra edge_trow
        nop 6
        bru.bra acc_done
        nop 6

; acc_run: A (v0 low outputs, v1 high) += even channels, B (v2, v3) += odd channels, over i5 >= 1
; input vectors: i1 the first vector's address, i3 table deltas (address of vector j + 1 minus
; vector j's, the last zero, one more word after it), i2 the weights. Leaves i1 at the last
; vector, i2 32 bytes past the run's weights, i5 as it was; uses v4-v31 and i4.
; Each pass: vector j's conversions and broadcasts, its macs, the loads of vector j + 1.
; b7 x W7hi of vector j is the next pass's first mac (the epilogue's for the last vector).
acc_run:
        lsu0.ld.v64 v4, i1, 0 || lsu1.ldi.i32 i4, i3, 4 || vau.xor v15, v15, v15
        lsu0.ld.v64 v5, i1, 8 || lsu1.ld.v128 v16, i2, 0 || vau.xor v31, v31, v31
        lsu0.ld.v128 v17, i2, 16 || iau.add i2, i2, 32
        nop
        bru.rpl i5, acc_end
        vau.cvt.f32.f16 v6, v4 || iau.add i1, i1, i4 || lsu0.ldi.v128 v18, i2, 16
        vau.cvt.f32.f16 v7, v5 || lsu0.ldi.v128 v19, i2, 16
        vau.mac.f32 v3, v15, v31 || cmu.vshuf.i32 v8, v6, 0x00 || lsu0.ldi.v128 v20, i2, 16
        vau.mac.f32 v0, v8, v16 || cmu.vshuf.i32 v9, v6, 0x55 || lsu0.ldi.v128 v21, i2, 16
        vau.mac.f32 v1, v8, v17 || cmu.vshuf.i32 v10, v6, 0xAA || lsu0.ldi.v128 v22, i2, 16
        vau.mac.f32 v2, v9, v18 || cmu.vshuf.i32 v11, v6, 0xFF || lsu0.ldi.v128 v23, i2, 16
        vau.mac.f32 v3, v9, v19 || cmu.vshuf.i32 v12, v7, 0x00 || lsu0.ldi.v128 v24, i2, 16
        vau.mac.f32 v0, v10, v20 || cmu.vshuf.i32 v13, v7, 0x55 || lsu0.ldi.v128 v25, i2, 16
        vau.mac.f32 v1, v10, v21 || cmu.vshuf.i32 v14, v7, 0xAA || lsu0.ldi.v128 v26, i2, 16
        vau.mac.f32 v2, v11, v22 || cmu.vshuf.i32 v15, v7, 0xFF || lsu0.ldi.v128 v27, i2, 16
        vau.mac.f32 v3, v11, v23 || lsu0.ldi.v128 v28, i2, 16
        vau.mac.f32 v0, v12, v24 || lsu0.ldi.v128 v29, i2, 16
        vau.mac.f32 v1, v12, v25 || lsu0.ldi.v128 v30, i2, 16
        vau.mac.f32 v2, v13, v26 || lsu0.ld.v64 v4, i1, 0 || lsu1.ldi.i32 i4, i3, 4
        vau.mac.f32 v3, v13, v27 || lsu0.ld.v64 v5, i1, 8
        vau.mac.f32 v0, v14, v28 || lsu0.ldi.v128 v31, i2, 16
        vau.mac.f32 v1, v14, v29 || lsu0.ldi.v128 v16, i2, 16
        vau.mac.f32 v2, v15, v30 || lsu0.ldi.v128 v17, i2, 16
acc_end: bru.ret
        nop
        vau.mac.f32 v3, v15, v31
        nop 4
