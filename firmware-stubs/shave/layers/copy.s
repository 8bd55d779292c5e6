; copy: out(c, y, x) = in0(c, y, x), bit for bit, between any two places of the same shape, each
; read and written with its own strides. Output pad lanes of an HWC8 output are zero.
; Job (emu/graph/job.ts), split by rows. No params.
; Both HWC8 (cStride 2, xStride 2 * C8): one rpl per row over its vectors, a pixel's last vector
; masked to its channels (a counter that wraps every G vectors picks it, without a branch).
; Otherwise element by element: per row, one rpl along x per channel (or along the channels per
; pixel, when there are more channels than pixels), after one that clears an HWC8 output's last
; vector of every pixel.
        .code
copy:   lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 4         ; in: address, channels
        lsu0.ld.i32 i3, i18, 12 || lsu1.ld.i32 i4, i18, 20       ; in: w, yStride
        lsu0.ld.i32 i5, i18, 24 || lsu1.ld.i32 i6, i18, 16       ; in: xStride, cStride
        lsu0.ld.i32 i7, i18, 64 || lsu1.ld.i32 i8, i18, 84       ; out: address, yStride
        lsu0.ld.i32 i9, i18, 88 || lsu1.ld.i32 i10, i18, 80      ; out: xStride, cStride
        lsu0.ld.i32 i11, i18, 104 || lsu1.ld.i32 i12, i18, 108   ; first row, rows
        lsu0.ldil i23, 0 || lsu1.ldil i0, masks                  ; i23 stays 0
        lsu0.ldil i18, 1 || lsu1.ldih i0, masks                  ; i18 stays 1
        vau.xor v7, v7, v7                                       ; v7: zero
        nop
        iau.add i13, i2, 7
        iau.shr i13, i13, 3                                      ; i13: G, vectors a pixel
        iau.shl i14, i13, 4                                      ; i14: 16 G
        iau.shl i15, i13, 3
        iau.sub i15, i15, i2                                     ; 8 G - C: the last vector's pad lanes
        iau.shl i16, i15, 1
        iau.add i16, i16, i0
        lsu0.ld.v128 v6, i16, 0                                  ; v6: ones in the last vector's channels
        iau.xor i16, i10, 2
        iau.xor i17, i9, i14
        iau.or i17, i17, i16                                     ; i17: zero if out is HWC8
        iau.xor i16, i6, 2
        iau.or i16, i16, i17
        iau.xor i19, i5, i14
        iau.or i16, i16, i19                                     ; i16: zero if both are
        cmu.cmii.i32 i16, i23
        peu.pc1c neq || bru.bra elements
        nop 6
; HWC8 to HWC8
        iau.mul i26, i3, i13                                     ; vectors a row
        iau.sub i31, i13, 1
vrow:   iau.mul i24, i11, i4
        iau.mul i25, i11, i8
        iau.mov i21, i31
        iau.add i24, i24, i1
        iau.add i25, i25, i7
        bru.rpl i26, vnext
        lsu0.ldi.v128 v1, i24, 16 || iau.sub i27, i21, 1
        iau.sar i28, i27, 31
        iau.minu i21, i27, i31
        iau.not i28, i28
        cmu.bcst.i32 v2, i28
        vau.or v2, v2, v6
        vau.and v3, v1, v2
        lsu0.sti.v128 v3, i25, 16
vnext:  iau.add i11, i11, 1 || cmu.cmii.i32 i12, i18
        peu.pc1c gt || bru.bra vrow || iau.sub i12, i12, 1
        nop 6
        bru.swih 0

; element by element; an HWC8 output with pad lanes first gets its pixels' last vectors cleared
elements: iau.mov i20, i23
        cmu.cmii.i32 i17, i23
        peu.pc1c eq || iau.mov i20, i3
        cmu.cmii.i32 i15, i23
        peu.pc1c eq || iau.mov i20, i23                          ; i20: pixels to clear a row
        iau.sub i22, i14, 16                                     ; the last vector of a pixel
        iau.mov i26, i3                                          ; along x: w elements a rpl,
        iau.mov i27, i5
        iau.mov i28, i9
        iau.mov i29, i2                                          ; one rpl a channel
        iau.mov i30, i6
        iau.mov i31, i10
        cmu.cmii.i32 i2, i3                                      ; more channels than pixels:
        peu.pc1c gt || iau.mov i26, i2                           ; along the channels instead
        peu.pc1c gt || iau.mov i27, i6
        peu.pc1c gt || iau.mov i28, i10
        peu.pc1c gt || iau.mov i29, i3
        peu.pc1c gt || iau.mov i30, i5
        peu.pc1c gt || iau.mov i31, i9
erow:   iau.mul i24, i11, i4
        iau.mul i25, i11, i8
        nop
        iau.add i24, i24, i1                                     ; i24: the row's first input
        iau.add i25, i25, i7                                     ; i25: its first output
        iau.add i16, i25, i22
        bru.rpl i20, cleared
        lsu0.st.v128 v7, i16, 0 || iau.add i16, i16, i9
cleared: iau.mov i15, i29                                        ; rpls left in the row
line:   iau.mov i16, i24
        iau.mov i17, i25
        bru.rpl i26, lineend
        lsu0.ld.u16 i19, i16, 0 || iau.add i16, i16, i27
        nop 4
        lsu0.st.i16 i19, i17, 0 || iau.add i17, i17, i28
lineend: iau.add i24, i24, i30 || cmu.cmii.i32 i15, i18
        peu.pc1c gt || bru.bra line || iau.sub i15, i15, 1
        iau.add i25, i25, i31
        nop 5
        iau.add i11, i11, 1 || cmu.cmii.i32 i12, i18
        peu.pc1c gt || bru.bra erow || iau.sub i12, i12, 1
        nop 6
        bru.swih 0

        .data
; ones in lanes 0 .. n - 1 of the vector at masks + 2 (8 - n)
masks:  .half 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff
        .half 0, 0, 0, 0, 0, 0, 0, 0
