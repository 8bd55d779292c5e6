; avg-pool: out(c, oy, ox) = f16(f32(sum * r)), where sum adds the window's taps inside the
; input in f32 (vau.cvt.f32.f16, exact; vau.add.f32), row by row, left to right, from -0; r is
; the f32 nearest to 1 / n (sau.div.f32), n = kh * kw with count_include_pad, else the taps
; inside; the product is rounded to f32 (vau.mul.f32), then once to f16 (vau.cvt.f16.f32).
; A NaN makes the default NaN. HWC8 in and out (xStride 2 * C8), 8 channels per vector;
; output pad lanes are the average of the input's (zero stays zero).
; Job (emu/graph/job.ts), split by rows: output rows first .. first + count - 1; global pooling
; is split by channels: groups of 8 channels first .. first + count - 1.
; Params (emu/graph/layers/pool.ts): kh, kw, sy, sx, pad top, left, bottom, right, flags (bit 0
; global, bit 1 count_include_pad). Every pad is smaller than the window.
;
; General: scratch holds a table (built once) giving for each kx the output pixels whose tap kx
; is inside the input, then per chunk of an output row (as many pixels as scratch holds) the
; reciprocals of the pixels' counts and the f32 sums of the chunk's (pixel, group) units.
; Per window row inside the input and per kx one rpl runs over the units; a counter that wraps
; every G units adds the input's stride jump between pixels, without a branch.
; Global (the window is the whole input): per group one rpl over every pixel (one per input row
; if the rows are not contiguous), the sums in registers.
        .code
avgpool: lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 8        ; in: address, h
        lsu0.ld.i32 i3, i18, 12 || lsu1.ld.i32 i4, i18, 20       ; in: w, yStride
        lsu0.ld.i32 i21, i18, 4 || lsu1.ld.i32 i6, i18, 64       ; channels; out address
        lsu0.ld.i32 i7, i18, 76 || lsu1.ld.i32 i8, i18, 84       ; out: w, yStride
        lsu0.ld.i32 i10, i18, 104 || lsu1.ld.i32 i11, i18, 108   ; first row, rows
        lsu0.ld.i32 i12, i18, 112 || lsu1.ld.i32 i9, i18, 116    ; scratch, its bytes
        lsu0.ld.i32 i13, i18, 128 || lsu1.ld.i32 i14, i18, 132   ; kh, kw
        lsu0.ld.i32 i15, i18, 136 || lsu1.ld.i32 i16, i18, 140   ; sy, sx
        lsu0.ld.i32 i17, i18, 144 || lsu1.ld.i32 i19, i18, 148   ; pad top, pad left
        lsu0.ld.i32 i20, i18, 160 || lsu1.ldil i23, 0            ; flags; i23 stays 0
        lsu0.ld.i32 i0, i18, 24 || lsu1.ld.i32 i5, i18, 88       ; the xStrides and cStrides,
        lsu0.ld.i32 i26, i18, 16 || lsu1.ld.i32 i27, i18, 80     ; for the check
        lsu0.ldil i24, 0 || lsu1.ldih i24, 0x8000                ; -0.0f
        lsu0.ldil i25, 0 || lsu1.ldih i25, 0x3f80                ; 1.0f
        lsu0.ldil i18, 1 || cmu.bcst.i32 v0, i24                 ; i18 stays 1; v0: where sums start
        cmu.cpsi s0, i25                                         ; s0 stays 1.0f
        iau.add i21, i21, 7
        iau.shr i21, i21, 3                                      ; i21: G, groups of 8 channels
        iau.shl i25, i21, 4                                      ; bytes of a pixel (16 G)
        iau.xor i0, i0, i25
        iau.xor i5, i5, i25
        iau.or i0, i0, i5
        iau.xor i26, i26, 2
        iau.xor i27, i27, 2
        iau.or i0, i0, i26
        iau.or i0, i0, i27
        cmu.cmii.i32 i0, i23
        peu.pc1c neq || bru.swih 1                               ; not HWC8: a kernel error
        iau.and i24, i20, 1
        cmu.cmii.i32 i24, i18
        peu.pc1c eq || bru.bra global                            ; the next 6 bundles run either way
        iau.mul i22, i16, i25                                    ; i22: input bytes from pixel to pixel
        iau.shl i26, i21, 5                                      ; bytes of a pixel's sums (32 G)
        iau.sub i31, i21, 1                                      ; i31: G - 1, where the counter wraps
        iau.sub i30, i22, i25                                    ; i30: the jump at a pixel's end
        cmu.cpsi s10, i16
        cmu.cpsi s11, i19
; kept in SRF: s10 sx, s11 pad left, s12 in w, s13 chunk pixels, s14 the sums, s15 the
; reciprocals, s16 32 G, s21 / s22 kw / kh if count_include_pad (else 0)
        cmu.cpsi s12, i3
        cmu.cpsi s16, i26
        iau.shr i27, i20, 1
        iau.and i27, i27, 1                                      ; count_include_pad
        iau.sub i27, i23, i27                                    ; all ones if so
        iau.and i28, i27, i14
        iau.and i29, i27, i13
        cmu.cpsi s21, i28
        cmu.cpsi s22, i29
; the kx table: at scratch + 16 kx the first output pixel whose tap kx is inside, one past the
; last, and the input offset of pixel 0's tap kx (the pixel may be outside)
        iau.sub i28, i23, i19                                    ; kx - pad left, kx = 0
        iau.mov i0, i12
        iau.mov i5, i14
        iau.sub i24, i7, 1
        iau.mul i24, i24, i16                                    ; (out w - 1) * sx
table:  iau.mov i29, i28
        lsu0.ldil i27, 0
lo:     cmu.cmii.i32 i29, i23
        peu.pc1c lt || bru.bra lo || iau.add i29, i29, i16
        peu.pc1c lt || iau.add i27, i27, 1
        nop 5
        iau.add i29, i28, i24                                    ; ix of the last output pixel
        iau.mov i26, i7
hi:     cmu.cmii.i32 i29, i3
        peu.pc1c gte || bru.bra hi || iau.sub i29, i29, i16
        peu.pc1c gte || iau.sub i26, i26, 1
        nop 5
        iau.mul i29, i28, i25
        lsu0.st.i32 i27, i0, 0 || lsu1.st.i32 i26, i0, 4
        lsu0.st.i32 i29, i0, 8 || iau.add i0, i0, 16 || cmu.cmii.i32 i5, i18
        peu.pc1c gt || bru.bra table || iau.sub i5, i5, 1
        iau.add i28, i28, 1
        nop 5
; chunks: as many output pixels as fit beside the table (reciprocal 16 bytes, sums 32 G each)
        iau.add i0, i0, 16                                       ; past the entry read after the last
        cmu.cpsi s15, i0
        iau.sub i9, i9, i0
        iau.add i9, i9, i12                                      ; bytes left
        cmu.cpis i26, s16
        iau.add i26, i26, 16                                     ; bytes per pixel
        iau.mov i27, i7                                          ; pixels
        iau.mul i28, i26, i7                                     ; their bytes
        nop
fit:    cmu.cmii.i32 i28, i9
        peu.pc1c gt || bru.bra fit || iau.sub i28, i28, i26
        peu.pc1c gt || iau.sub i27, i27, 1
        nop 5
        cmu.cmii.i32 i27, i23
        peu.pc1c eq || bru.swih 2                                ; not a pixel fits: a kernel error
        cmu.cpsi s13, i27
        iau.shl i27, i27, 4
        iau.add i0, i0, i27
        cmu.cpsi s14, i0                                         ; the sums after the reciprocals
; output rows
row:    iau.mul i24, i10, i15                                    ; oy * sy
        iau.mul i28, i10, i8
        iau.sub i24, i24, i17                                    ; the window's top row (may be < 0)
        iau.sub i26, i23, i24
        iau.max i26, i26, i23                                    ; ky of the first row inside
        iau.sub i27, i2, i24
        iau.min i27, i27, i13                                    ; ky past the last row inside
        iau.sub i27, i27, i26
        cmu.cpsi s17, i27                                        ; s17: window rows inside
        iau.add i24, i24, i26
        iau.mul i24, i24, i4
        iau.add i28, i28, i6
        cmu.cpsi s19, i28                                        ; s19: the output row
        iau.add i24, i24, i1
        cmu.cpsi s18, i24                                        ; s18: its first input row inside
        cmu.cpis i29, s22
        iau.max i27, i27, i29
        cmu.cpsi s20, i27                                        ; s20: the count's rows
        lsu0.ldil i16, 0                                         ; i16: the chunk's first pixel
chunk:  cmu.cpis i19, s13
        iau.add i19, i19, i16
        iau.min i19, i19, i7                                     ; i19: past its last pixel
        cmu.cpis i24, s16
        iau.mul i24, i24, i16
        cmu.cpis i20, s14
        iau.sub i20, i20, i24                                    ; i20: the sums, less pixel c0's offset
        iau.sub i24, i19, i16                                    ; the chunk's pixels
        iau.mul i26, i24, i21
        cmu.cpis i25, s14
        iau.shl i26, i26, 1                                      ; two vectors per unit
        bru.rpl i26, cleared
        lsu0.sti.v128 v0, i25, 16
; the reciprocals of the chunk's counts, rows * columns inside (or kh * kw)
cleared: cmu.cpis i25, s15
        cmu.cpis i27, s10
        cmu.cpis i28, s11
        iau.mul i26, i16, i27
        cmu.cpis i29, s12
        iau.sub i26, i26, i28                                    ; ix of the chunk's first pixel
        cmu.cpis i30, s21
        cmu.cpis i31, s20
        bru.rpl i24, counted
        iau.sub i28, i23, i26
        iau.max i28, i28, i23                                    ; kx of the first column inside
        iau.sub i0, i29, i26
        iau.min i0, i0, i14                                      ; kx past the last column inside
        iau.sub i0, i0, i28
        iau.max i0, i0, i30
        iau.mul i0, i0, i31
        iau.add i26, i26, i27
        cmu.bcst.i32 v1, i0
        vau.cvt.f32.i32 v2, v1
        nop
        cmu.cpvi.i32 i28, v2, 0
        cmu.cpsi s1, i28
        sau.div.f32 s2, s0, s1
        nop 3
        cmu.cpis i28, s2
        cmu.bcst.i32 v3, i28
        lsu0.sti.v128 v3, i25, 16
counted: iau.shl i25, i21, 4
        iau.sub i31, i21, 1                                      ; back: G - 1
        iau.sub i30, i22, i25                                    ; back: the jump at a pixel's end
        cmu.cpis i3, s18
        cmu.cpis i9, s17
; the taps: per window row inside, per kx, one rpl over the units whose tap is inside
ky:     iau.mov i0, i12
        iau.mov i5, i14
        lsu0.ld.i32 i27, i0, 0 || lsu1.ld.i32 i28, i0, 4
        lsu0.ld.i32 i29, i0, 8 || iau.add i0, i0, 16
        nop 4
kx:     iau.max i27, i27, i16                                    ; the first pixel, in the chunk
        iau.min i28, i28, i19
        iau.sub i28, i28, i27
        iau.max i28, i28, i23                                    ; pixels
        iau.mul i28, i28, i21                                    ; units
        iau.mul i24, i27, i22
        iau.mul i25, i27, i21
        iau.add i24, i24, i29
        iau.shl i25, i25, 5
        iau.add i24, i24, i3                                     ; the first unit's input
        iau.add i25, i25, i20                                    ; its sums
        iau.mov i26, i31                                         ; units left in the pixel, less one
        bru.rpl i28, tap
        lsu0.ldi.v128 v1, i24, 16 || lsu1.ldi.v128 v2, i25, 16 || iau.sub i27, i26, 1
        lsu1.ldi.v128 v3, i25, 16 || iau.sar i28, i27, 31
        iau.minu i26, i27, i31
        iau.and i29, i28, i30
        iau.add i24, i24, i29
        vau.cvt.f32.f16 v4, v1 || cmu.vshuf.i32 v5, v1, 0xee
        vau.cvt.f32.f16 v6, v5
        vau.add.f32 v2, v2, v4
        vau.add.f32 v3, v3, v6
        lsu0.st.v128 v2, i25, -32
        lsu0.st.v128 v3, i25, -16
tap:    iau.sub i5, i5, 1 || cmu.cmii.i32 i5, i18 || lsu0.ld.i32 i27, i0, 0 || lsu1.ld.i32 i28, i0, 4
        peu.pc1c gt || bru.bra kx || lsu0.ld.i32 i29, i0, 8 || iau.add i0, i0, 16
        nop 6
        iau.add i3, i3, i4 || cmu.cmii.i32 i9, i18
        peu.pc1c gt || bru.bra ky || iau.sub i9, i9, 1
        nop 6
; out = f16(sum * reciprocal), unit by unit; the reciprocal moves on with the pixel
        iau.sub i24, i19, i16
        iau.mul i24, i24, i21
        cmu.cpis i25, s14
        cmu.cpis i3, s15
        iau.mul i0, i16, i21
        cmu.cpis i29, s19
        iau.shl i0, i0, 4
        iau.add i0, i0, i29                                      ; the chunk's first output vector
        iau.mov i26, i31
        bru.rpl i24, done
        lsu0.ldi.v128 v1, i25, 16 || iau.sub i27, i26, 1
        lsu0.ldi.v128 v2, i25, 16 || iau.sar i28, i27, 31
        lsu0.ld.v128 v3, i3, 0 || iau.minu i26, i27, i31
        iau.and i29, i28, 16
        iau.add i3, i3, i29
        nop 2
        vau.mul.f32 v4, v1, v3
        vau.mul.f32 v5, v2, v3
        vau.cvt.f16.f32 v6, v4
        vau.cvt.f16.f32 v7, v5
        nop
        cmu.vshuf.i32 v7, v7, 0x4e                               ; channels 4-7 into lanes 4-7
        vau.or v8, v6, v7
        lsu0.sti.v128 v8, i0, 16
done:   iau.mov i16, i19 || cmu.cmii.i32 i19, i7
        peu.pc1c lt || bru.bra chunk
        nop 6
        iau.add i10, i10, 1 || cmu.cmii.i32 i11, i18
        peu.pc1c gt || bru.bra row || iau.sub i11, i11, 1
        nop 6
        bru.swih 0

global: iau.mul i27, i3, i25                                     ; w * pixel bytes
        iau.mul i28, i2, i3                                      ; the count, h * w
        iau.mov i26, i3                                          ; pixels per row
        cmu.cmii.i32 i27, i4
        peu.pc1c eq || iau.mov i26, i28                          ; contiguous rows: one row of h * w
        peu.pc1c eq || lsu0.ldil i2, 1
        cmu.cpsi s1, i28
        sau.cvt.f32.i32 s1, s1
        nop
        sau.div.f32 s2, s0, s1
        nop 3
        cmu.cpis i27, s2
        cmu.bcst.i32 v9, i27                                     ; v9: 1 / (h * w)
        iau.shl i24, i10, 4                                      ; split by channels: the share's first group
        iau.add i28, i1, i24                                     ; this group's first pixel
        iau.add i19, i6, i24                                     ; its output vector
        iau.mov i24, i11                                         ; groups left: the share's
ggroup: cmu.cpvv v10, v0
        cmu.cpvv v11, v0 || iau.mov i16, i28
        iau.mov i29, i2                                          ; rows left
grow:   iau.mov i20, i16
        bru.rpl i26, gpixel
        lsu0.ld.v128 v1, i20, 0 || iau.add i20, i20, i25
        nop 4
        vau.cvt.f32.f16 v2, v1 || cmu.vshuf.i32 v3, v1, 0xee
        vau.cvt.f32.f16 v4, v3
        vau.add.f32 v10, v10, v2
        vau.add.f32 v11, v11, v4
gpixel: iau.add i16, i16, i4 || cmu.cmii.i32 i29, i18
        peu.pc1c gt || bru.bra grow || iau.sub i29, i29, 1
        nop 6
        vau.mul.f32 v4, v10, v9
        vau.mul.f32 v5, v11, v9
        vau.cvt.f16.f32 v6, v4
        vau.cvt.f16.f32 v7, v5
        nop
        cmu.vshuf.i32 v7, v7, 0x4e
        vau.or v8, v6, v7
        lsu0.st.v128 v8, i19, 0 || iau.add i19, i19, 16
        iau.add i28, i28, 16 || cmu.cmii.i32 i24, i18
        peu.pc1c gt || bru.bra ggroup || iau.sub i24, i24, 1
        nop 6
        bru.swih 0
