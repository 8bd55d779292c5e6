; softmax over the channels of every pixel, numerically stable, in f32:
;   m = the largest x[c], c < C (f16 to f32 exact, vau.max.f32: any NaN gives NaN)
;   d[c] = x[c] - m (vau.sub.f32), e[c] = exp(d[c]) (sau.exp.f32: computed in f64, rounded once)
;   s = e[0] + e[1] + ... + e[C-1], from +0, in that order (sau.add.f32, each rounded to f32)
;   r = 1 / s (sau.rcp.f32, computed in f64), y[c] = f16(f32(e[c] * r)) (vau.mul.f32, then
;   vau.cvt.f16.f32).
; Lanes past C: x is taken as -inf, so d is -inf and e 0, which adds nothing to s; the output's
; pad lanes are masked to zero (even when s is NaN).
; HWC8 in and out (xStride 2 * C8). Job (emu/graph/job.ts), split by rows. No params.
; Scratch, per pixel of a chunk of a row (as many as fit): d and then e in its place (32 G
; bytes), m and r (16 bytes each, in every lane).
; Per chunk: one rpl over its (pixel, vector) units for the maxima, one for d, one rpl per pixel
; for e and s two channels a pass (the SAU's exp keeps it in the interpreter), one over the
; units for y. A counter that wraps every G units marks a pixel's last vector (to mask its lanes
; past C) and moves the m and r pointers on, without a branch.
        .code
softmax: lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 4       ; in: address, channels
        lsu0.ld.i32 i3, i18, 12 || lsu1.ld.i32 i4, i18, 20       ; in: w, yStride
        lsu0.ld.i32 i5, i18, 24 || lsu1.ld.i32 i6, i18, 16       ; in: xStride, cStride
        lsu0.ld.i32 i7, i18, 64 || lsu1.ld.i32 i8, i18, 84       ; out: address, yStride
        lsu0.ld.i32 i9, i18, 88 || lsu1.ld.i32 i10, i18, 80      ; out: xStride, cStride
        lsu0.ld.i32 i11, i18, 104 || lsu1.ld.i32 i12, i18, 108   ; first row, rows
        lsu0.ld.i32 i13, i18, 112 || lsu1.ld.i32 i16, i18, 116   ; scratch, its bytes
        lsu0.ldil i14, masks || lsu1.ldih i14, masks             ; the lane masks
        lsu0.ldil i15, 0 || lsu1.ldih i15, 0xff80                ; -inf (f32)
        lsu0.ldil i22, 0xfc00 || lsu1.ldil i18, 1                ; -inf (f16); i18 stays 1
        lsu0.ldil i23, 0 || cmu.bcst.i32 v0, i15                 ; i23 stays 0; v0: f32 -inf
        cmu.bcst.i16 v2, i22
        iau.add i17, i2, 7
        iau.shr i17, i17, 3                                      ; i17: G, vectors a pixel
        iau.shl i19, i17, 4                                      ; i19: bytes of a pixel (16 G)
        iau.xor i5, i5, i19
        iau.xor i9, i9, i19
        iau.xor i6, i6, 2
        iau.xor i10, i10, 2
        iau.or i5, i5, i9
        iau.or i6, i6, i10
        iau.or i5, i5, i6
        cmu.cmii.i32 i5, i23
        peu.pc1c neq || bru.swih 1                               ; not HWC8: a kernel error
        iau.shl i22, i17, 3
        iau.sub i22, i22, i2                                     ; 8 G - C: the last vector's pad lanes
        iau.shl i22, i22, 1
        iau.add i22, i22, i14
        lsu0.ld.v128 v1, i22, 0                                  ; v1: ones in the last vector's channels
        iau.shl i14, i17, 2                                      ; i14: channel pairs a pixel, 4 G
        iau.sub i31, i17, 1                                      ; i31: G - 1, where the counter wraps
        iau.shl i29, i17, 5                                      ; a pixel's d and e
        iau.add i28, i29, 32                                     ; and its m and r
        iau.mov i0, i3                                           ; pixels a chunk
        iau.mul i27, i3, i28                                     ; their bytes
        vau.not v3, v1
fit:    cmu.cmii.i32 i27, i16
        peu.pc1c gt || bru.bra fit || iau.sub i27, i27, i28
        peu.pc1c gt || iau.sub i0, i0, 1
        nop 5
        cmu.cmii.i32 i0, i23
        peu.pc1c eq || bru.swih 2                                ; not a pixel fits: a kernel error
        iau.mov i16, i0                                          ; i16: P
        iau.mul i5, i29, i0
        iau.shl i6, i0, 4
        vau.and v3, v3, v2                                       ; v3: -inf in the lanes past C
        iau.add i5, i5, i13                                      ; i5: the m of the chunk's pixels
        iau.add i6, i6, i5                                       ; i6: their r
row:    iau.mul i15, i11, i4
        iau.mul i20, i11, i8
        lsu0.ldil i10, 0                                         ; i10: the chunk's first pixel
        iau.add i15, i15, i1                                     ; i15: the row's input
        iau.add i20, i20, i7                                     ; i20: its output
chunk:  iau.sub i9, i3, i10
        iau.min i9, i9, i16                                      ; i9: the chunk's pixels
        iau.mul i21, i10, i19
        iau.mul i0, i9, i17                                      ; i0: its units
        iau.mov i25, i5
        iau.add i24, i15, i21                                    ; its first input vector
        iau.mov i26, i31
        iau.sub i30, i23, 1                                      ; the first unit starts a pixel
; the maxima: m for each pixel, in every lane
        bru.rpl i0, maxed
        lsu0.ldi.v128 v4, i24, 16 || iau.sub i27, i26, 1 || cmu.bcst.i32 v5, i30
        iau.sar i28, i27, 31 || vau.and v7, v0, v5
        iau.minu i26, i27, i31 || vau.not v5, v5 || cmu.bcst.i32 v6, i28
        iau.not i29, i28 || vau.and v6, v6, v3
        cmu.bcst.i32 v8, i29 || vau.and v10, v10, v5
        vau.or v8, v8, v1 || iau.mov i30, i28
        vau.and v4, v4, v8
        vau.or v4, v4, v6                                        ; lanes past C: -inf
        vau.cvt.f32.f16 v9, v4 || cmu.vshuf.i32 v12, v4, 0xee
        vau.cvt.f32.f16 v12, v12
        vau.or v10, v10, v7                                      ; a pixel's first unit: from -inf
        vau.and v11, v11, v5
        vau.or v11, v11, v7
        vau.max.f32 v10, v10, v9
        vau.max.f32 v11, v11, v12
        nop
        vau.max.f32 v13, v10, v11
        nop
        cmu.vshuf.i32 v14, v13, 0x4e
        vau.max.f32 v13, v13, v14
        nop
        cmu.vshuf.i32 v14, v13, 0xb1
        vau.max.f32 v13, v13, v14
        nop
        lsu0.st.v128 v13, i25, 0 || iau.and i29, i28, 16
        iau.add i25, i25, i29                                    ; the next pixel's m after its last unit
; the differences d = x - m
maxed:  iau.add i24, i15, i21
        iau.mov i25, i5
        iau.mov i22, i13
        iau.mov i26, i31
        bru.rpl i0, diffed
        lsu0.ldi.v128 v4, i24, 16 || iau.sub i27, i26, 1
        lsu0.ld.v128 v13, i25, 0 || iau.sar i28, i27, 31
        iau.minu i26, i27, i31 || cmu.bcst.i32 v6, i28
        iau.not i29, i28 || vau.and v6, v6, v3
        cmu.bcst.i32 v8, i29
        vau.or v8, v8, v1 || iau.and i29, i28, 16
        vau.and v4, v4, v8 || iau.add i25, i25, i29
        vau.or v4, v4, v6
        vau.cvt.f32.f16 v9, v4 || cmu.vshuf.i32 v12, v4, 0xee
        vau.cvt.f32.f16 v12, v12
        vau.sub.f32 v9, v9, v13
        vau.sub.f32 v12, v12, v13
        lsu0.sti.v128 v9, i22, 16
        lsu0.sti.v128 v12, i22, 16
; per pixel: e in d's place, s, and r in every lane
diffed: iau.mov i21, i13
        iau.mov i22, i6
        iau.mov i28, i9                                          ; pixels left
pixel:  cmu.cpsi s5, i23                                         ; s: +0
        bru.rpl i14, exps
        lsu0.ld.s32 s1, i21, 0 || lsu1.ld.s32 s3, i21, 4
        nop 4
        sau.exp.f32 s2, s1
        sau.exp.f32 s4, s3
        nop 2
        sau.add.f32 s5, s5, s2 || lsu0.st.s32 s2, i21, 0
        nop
        sau.add.f32 s5, s5, s4 || lsu0.st.s32 s4, i21, 4 || iau.add i21, i21, 8
exps:   nop
        sau.rcp.f32 s6, s5
        nop 3
        cmu.cpis i27, s6
        cmu.bcst.i32 v4, i27
        lsu0.sti.v128 v4, i22, 16 || cmu.cmii.i32 i28, i18
        peu.pc1c gt || bru.bra pixel || iau.sub i28, i28, 1
        nop 6
; y = e * r, the last vector of a pixel masked to its channels
        iau.mul i21, i10, i19
        iau.mov i24, i13
        iau.mov i25, i6
        iau.add i22, i20, i21                                    ; the chunk's first output vector
        iau.mov i26, i31
        bru.rpl i0, done
        lsu0.ldi.v128 v4, i24, 16 || iau.sub i27, i26, 1
        lsu0.ldi.v128 v5, i24, 16 || iau.sar i28, i27, 31
        lsu0.ld.v128 v13, i25, 0 || iau.minu i26, i27, i31
        iau.not i29, i28
        cmu.bcst.i32 v8, i29 || iau.and i29, i28, 16
        vau.or v8, v8, v1 || iau.add i25, i25, i29
        nop
        vau.mul.f32 v4, v4, v13
        vau.mul.f32 v5, v5, v13
        vau.cvt.f16.f32 v6, v4
        vau.cvt.f16.f32 v7, v5
        nop
        cmu.vshuf.i32 v7, v7, 0x4e                               ; channels 4-7 into lanes 4-7
        vau.or v6, v6, v7
        vau.and v6, v6, v8
        lsu0.sti.v128 v6, i22, 16
done:   iau.add i10, i10, i9
        cmu.cmii.i32 i10, i3
        peu.pc1c lt || bru.bra chunk
        nop 6
        iau.add i11, i11, 1 || cmu.cmii.i32 i12, i18
        peu.pc1c gt || bru.bra row || iau.sub i12, i12, 1
        nop 6
        bru.swih 0

        .data
; ones in lanes 0 .. n - 1 of the vector at masks + 2 (8 - n)
masks:  .half 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff
        .half 0, 0, 0, 0, 0, 0, 0, 0
