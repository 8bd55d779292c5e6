; concat: out = in0's C0 channels, then in1's C1, at every pixel (bit copies); HWC8 in and out
; (xStride 2 * C8), the same h and w; output pad lanes are zero whatever the inputs' hold.
; Job (emu/graph/job.ts), split by rows. No params.
; C0 a multiple of 8: per output row two calls of `units`, in0's vectors then in1's, straight
; into the output (in1's last vector of a pixel masked to its channels).
; Otherwise in1's channels start inside a vector. Per chunk of an output row (as many pixels as
; scratch holds) the row is built in scratch, a pixel every S = 16 G + 16 bytes: in0's vectors
; at 0, in1's at 2 C0 (unaligned stores; the pads they carry land past the channels); then its
; G vectors a pixel go to the output, the last masked to the channels. Every load is of a whole
; vector inside its tensor.
; Every copy is one rpl over a row's (pixel, vector) units with a counter that wraps every G'
; units, without a branch: i26 vectors from i24 to i25, 16 bytes apart, except that after every
; G' of them (i31 = G' - 1) `from` moves on i22 more and `to` i20 more, and the last of each G'
; keeps only the lanes of v4 (the others become zero). Each copy has its own loop, so that the
; loop compiler's facts (which memory each load and store reaches) stay true from row to row.
        .code
concat: lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i10, i18, 4       ; in0: address, channels
        lsu0.ld.i32 i2, i18, 20 || lsu1.ld.i32 i3, i18, 32       ; in0 yStride; in1 address
        lsu0.ld.i32 i11, i18, 36 || lsu1.ld.i32 i4, i18, 52      ; in1: channels, yStride
        lsu0.ld.i32 i5, i18, 64 || lsu1.ld.i32 i12, i18, 68      ; out: address, channels
        lsu0.ld.i32 i6, i18, 84 || lsu1.ld.i32 i7, i18, 76       ; out: yStride, w
        lsu0.ld.i32 i8, i18, 104 || lsu1.ld.i32 i9, i18, 108     ; first row, rows
        lsu0.ld.i32 i13, i18, 112 || lsu1.ld.i32 i16, i18, 116   ; scratch, its bytes
        lsu0.ld.i32 i20, i18, 16 || lsu1.ld.i32 i21, i18, 24     ; in0: cStride, xStride
        lsu0.ld.i32 i22, i18, 48 || lsu1.ld.i32 i24, i18, 56     ; in1: cStride, xStride
        lsu0.ld.i32 i25, i18, 80 || lsu1.ld.i32 i26, i18, 88     ; out: cStride, xStride
        lsu0.ldil i23, 0 || lsu1.ldil i0, masks                  ; i23 stays 0
        lsu0.ldil i18, 1 || lsu1.ldih i0, masks                  ; i18 stays 1
        lsu0.ldil i17, 0xffff || lsu1.ldih i17, 0xffff
        cmu.bcst.i32 v5, i17                                     ; v5: every lane
        iau.shl i14, i10, 1                                      ; i14: 2 C0
        iau.shl i15, i11, 1
        iau.add i15, i15, i14                                    ; i15: 2 (C0 + C1)
        iau.shl i28, i11, 1                                      ; 2 C1
        iau.add i10, i10, 7
        iau.shr i10, i10, 3                                      ; i10: G0
        iau.add i11, i11, 7
        iau.shr i11, i11, 3                                      ; i11: G1
        iau.add i27, i12, 7
        iau.shr i27, i27, 3                                      ; G
        iau.shl i12, i12, 1
        iau.xor i12, i12, i15                                    ; zero if out has C0 + C1 channels
        iau.xor i20, i20, 2
        iau.xor i22, i22, 2
        iau.xor i25, i25, 2
        iau.or i12, i12, i20
        iau.or i12, i12, i22
        iau.or i12, i12, i25
        iau.shl i29, i10, 4
        iau.xor i21, i21, i29
        iau.shl i29, i11, 4
        iau.xor i24, i24, i29
        iau.shl i29, i27, 4
        iau.xor i26, i26, i29
        iau.or i12, i12, i21
        iau.or i12, i12, i24
        iau.or i12, i12, i26
        cmu.cmii.i32 i12, i23
        peu.pc1c neq || bru.swih 1                               ; not HWC8, or not C0 + C1: a kernel error
        iau.mov i12, i27                                         ; i12: G
        iau.shl i29, i10, 4
        cmu.cpsi s2, i29                                         ; s2: 16 G0
        iau.shl i29, i11, 4
        cmu.cpsi s7, i29                                         ; s7: 16 G1
        iau.shl i29, i12, 4
        cmu.cpsi s8, i29                                         ; s8: 16 G
        iau.and i29, i14, 15
        cmu.cmii.i32 i29, i23
        peu.pc1c neq || bru.bra staged
        nop 6
; C0 a multiple of 8: G = G0 + G1; in1's last vector of a pixel keeps its lanes < C1 - 8 (G1 - 1)
        cmu.cpis i29, s7
        iau.sub i29, i29, i28                                    ; 2 (8 G1 - C1)
        iau.add i29, i29, i0
        lsu0.ld.v128 v6, i29, 0
        iau.sub i29, i12, i10
        iau.shl i29, i29, 4
        cmu.cpsi s1, i29                                         ; s1: 16 (G - G0)
        iau.mov i22, i23                                         ; i22: the inputs are contiguous
rowA:   iau.mul i24, i8, i2
        iau.mul i25, i8, i6
        iau.mul i26, i7, i10                                     ; w * G0
        iau.add i24, i24, i1                                     ; in0's row
        iau.add i25, i25, i5                                     ; the output row
        iau.sub i31, i10, 1
        cmu.cpis i20, s1
        cmu.cpvv v4, v5
        iau.mov i21, i31
        bru.rpl i26, in0a
        lsu0.ldi.v128 v1, i24, 16 || iau.sub i27, i21, 1
        iau.sar i28, i27, 31
        iau.minu i21, i27, i31
        iau.and i29, i28, i22
        iau.add i24, i24, i29
        iau.and i29, i28, i20
        iau.not i28, i28
        cmu.bcst.i32 v2, i28
        vau.or v2, v2, v4
        vau.and v3, v1, v2
        lsu0.sti.v128 v3, i25, 16
        iau.add i25, i25, i29
in0a:
        iau.mul i24, i8, i4
        iau.mul i25, i8, i6
        iau.mul i26, i7, i11                                     ; w * G1
        iau.add i24, i24, i3                                     ; in1's row
        iau.add i25, i25, i5
        cmu.cpis i29, s2
        iau.add i25, i25, i29                                    ; its vector G0
        iau.sub i31, i11, 1
        cmu.cpis i20, s2                                         ; 16 (G - G1) = 16 G0
        cmu.cpvv v4, v6
        iau.mov i21, i31
        bru.rpl i26, in1a
        lsu0.ldi.v128 v1, i24, 16 || iau.sub i27, i21, 1
        iau.sar i28, i27, 31
        iau.minu i21, i27, i31
        iau.and i29, i28, i22
        iau.add i24, i24, i29
        iau.and i29, i28, i20
        iau.not i28, i28
        cmu.bcst.i32 v2, i28
        vau.or v2, v2, v4
        vau.and v3, v1, v2
        lsu0.sti.v128 v3, i25, 16
        iau.add i25, i25, i29
in1a:
        iau.add i8, i8, 1 || cmu.cmii.i32 i9, i18
        peu.pc1c gt || bru.bra rowA || iau.sub i9, i9, 1
        nop 6
        bru.swih 0

; C0 not a multiple of 8: rows built in scratch; the output's last vector of a pixel keeps its
; lanes < C0 + C1 - 8 (G - 1)
staged: cmu.cpis i29, s8
        iau.sub i29, i29, i15                                    ; 2 (8 G - C0 - C1)
        iau.add i29, i29, i0
        lsu0.ld.v128 v6, i29, 0
        iau.add i17, i12, 1
        iau.shl i17, i17, 4                                      ; i17: S
        cmu.cpis i29, s8
        iau.sub i29, i17, i29
        cmu.cpsi s6, i29                                         ; s6: S - 16 G = 16
        cmu.cpis i29, s2
        iau.sub i29, i17, i29
        cmu.cpsi s3, i29                                         ; s3: S - 16 G0
        cmu.cpis i29, s7
        iau.sub i29, i17, i29
        cmu.cpsi s4, i29                                         ; s4: S - 16 G1
        iau.mov i0, i7                                           ; pixels a chunk
        iau.mul i28, i7, i17                                     ; their bytes
        nop
fit:    cmu.cmii.i32 i28, i16
        peu.pc1c gt || bru.bra fit || iau.sub i28, i28, i17
        peu.pc1c gt || iau.sub i0, i0, 1
        nop 5
        cmu.cmii.i32 i0, i23
        peu.pc1c eq || bru.swih 2                                ; not a pixel fits: a kernel error
        iau.mov i16, i0                                          ; i16: P
rowB:   lsu0.ldil i19, 0                                         ; i19: the chunk's first pixel
chunkB: iau.sub i0, i7, i19
        iau.min i0, i0, i16                                      ; i0: its pixels
        cmu.cpis i29, s2
        iau.mul i24, i8, i2
        iau.mul i29, i29, i19
        iau.mul i26, i0, i10                                     ; n * G0
        iau.add i24, i24, i1
        iau.mov i25, i13                                         ; to the scratch row
        iau.add i24, i24, i29                                    ; in0's first pixel
        iau.sub i31, i10, 1
        cmu.cpis i20, s3
        iau.mov i22, i23
        cmu.cpvv v4, v5
        iau.mov i21, i31
        bru.rpl i26, in0b
        lsu0.ldi.v128 v1, i24, 16 || iau.sub i27, i21, 1
        iau.sar i28, i27, 31
        iau.minu i21, i27, i31
        iau.and i29, i28, i22
        iau.add i24, i24, i29
        iau.and i29, i28, i20
        iau.not i28, i28
        cmu.bcst.i32 v2, i28
        vau.or v2, v2, v4
        vau.and v3, v1, v2
        lsu0.sti.v128 v3, i25, 16
        iau.add i25, i25, i29
in0b:
        cmu.cpis i29, s7
        iau.mul i24, i8, i4
        iau.mul i29, i29, i19
        iau.mul i26, i0, i11                                     ; n * G1
        iau.add i24, i24, i3
        iau.add i25, i13, i14                                    ; after in0's channels
        iau.add i24, i24, i29                                    ; in1's first pixel
        iau.sub i31, i11, 1
        cmu.cpis i20, s4
        iau.mov i21, i31
        bru.rpl i26, in1b
        lsu0.ldi.v128 v1, i24, 16 || iau.sub i27, i21, 1
        iau.sar i28, i27, 31
        iau.minu i21, i27, i31
        iau.and i29, i28, i22
        iau.add i24, i24, i29
        iau.and i29, i28, i20
        iau.not i28, i28
        cmu.bcst.i32 v2, i28
        vau.or v2, v2, v4
        vau.and v3, v1, v2
        lsu0.sti.v128 v3, i25, 16
        iau.add i25, i25, i29
in1b:
        cmu.cpis i29, s8
        iau.mul i25, i8, i6
        iau.mul i29, i29, i19
        iau.mul i26, i0, i12                                     ; n * G
        iau.add i25, i25, i5
        iau.mov i24, i13                                         ; from the scratch row
        iau.add i25, i25, i29                                    ; the output's first pixel
        iau.sub i31, i12, 1
        cmu.cpis i22, s6
        iau.mov i20, i23
        cmu.cpvv v4, v6
        iau.mov i21, i31
        bru.rpl i26, outb
        lsu0.ldi.v128 v1, i24, 16 || iau.sub i27, i21, 1
        iau.sar i28, i27, 31
        iau.minu i21, i27, i31
        iau.and i29, i28, i22
        iau.add i24, i24, i29
        iau.and i29, i28, i20
        iau.not i28, i28
        cmu.bcst.i32 v2, i28
        vau.or v2, v2, v4
        vau.and v3, v1, v2
        lsu0.sti.v128 v3, i25, 16
        iau.add i25, i25, i29
outb:
        iau.add i19, i19, i0
        cmu.cmii.i32 i19, i7
        peu.pc1c lt || bru.bra chunkB
        nop 6
        iau.add i8, i8, 1 || cmu.cmii.i32 i9, i18
        peu.pc1c gt || bru.bra rowB || iau.sub i9, i9, 1
        nop 6
        bru.swih 0

        .data
; ones in lanes 0 .. n - 1 of the vector at masks + 2 (8 - n)
masks:  .half 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff
        .half 0, 0, 0, 0, 0, 0, 0, 0
