; sum and prod: out = in0 + in1 (vau.add.f16), max(in0 + in1, +0) (then vau.max.f16) or
; in0 * in1 (vau.mul.f16), each correctly rounded; a NaN comes out as the default NaN 0x7E00.
; in1 broadcasts ONNX-style: each of its C, H and W is in0's or 1 (the layer checks).
; Job (emu/graph/job.ts), split by rows: the share is output rows first .. first + count - 1.
; in0, in1 and out are HWC8 of their own shapes (the runtime's layout: the kernel derives the
; strides from the shapes); out has in0's. Params: word 0 the operation: 0 add, 1 add then
; ReLU, 2 multiply. Scratch (only when in1's C or W is 1): up to the layer's scratchBytes.
;
; The work is one routine (mainAdd, mainAddRelu or mainMul, chosen once) that takes n vectors
; of in0 and of a second operand laid out like in0, both read forward. That second operand is
; in1 itself when in1's C and W are in0's (a share of the same shape is one call; with in1's H
; 1, one call a row), or else a piece of a row that the kernel lays out in scratch first: the
; G vectors of one pixel (in1's own pixel, or its one value broadcast to the lanes of C, the
; pad lanes zero) at every pixel of the piece, one strided store loop a group of channels,
; laid out again only when in1's row changes; or, when in1 is one value a pixel, that value
; broadcast per pixel.
;
; The routines are software-pipelined over groups of 8 vectors (a pass loads group p while it
; finishes group p - 1); every register is loaded or written again only in the bundle that last
; reads it or later, so they are right for loads of 3 cycles (CMX) and of 5 (DDR). A pass before
; the loop fills the pipeline, one after it drains it, and the n % 8 vectors left over go
; through a plain loop.
        .code
sum:    lsu0.ld.i32 i10, i18, 0 || lsu1.ld.i32 i13, i18, 4      ; in0, C
        lsu0.ld.i32 i9, i18, 8 || lsu1.ld.i32 i14, i18, 12      ; H, W
        lsu0.ld.i32 i11, i18, 32 || lsu1.ld.i32 i20, i18, 36    ; in1, its C
        lsu0.ld.i32 i21, i18, 40 || lsu1.ld.i32 i22, i18, 44    ; its H, its W
        lsu0.ld.i32 i12, i18, 64 || lsu1.ld.i32 i26, i18, 104   ; out, first
        lsu0.ld.i32 i19, i18, 108 || lsu1.ld.i32 i23, i18, 112  ; count, scratch
        lsu0.ld.i32 i24, i18, 116 || lsu1.ld.i32 i28, i18, 128  ; scratch bytes, operation
        lsu0.ldil i27, 0 || lsu1.ldil i1, 1 || vau.xor v0, v0, v0
        lsu0.ldil i2, 2 || iau.add i15, i13, 7
        iau.shr i15, i15, 3                                     ; i15: G, groups of 8 channels
        iau.shl i16, i15, 4                                     ; i16: S, the pixel stride
        iau.mul i17, i14, i16                                   ; i17: row bytes
        iau.sub i31, i27, 1                                     ; i31: in1's row laid out in scratch (none)
        iau.mul i0, i26, i17                                    ; i0: the share's offset
        lsu0.ldil i29, mainAdd || lsu1.ldih i29, mainAdd || cmu.cmii.i32 i28, i1
        peu.pc1c eq || lsu0.ldil i29, mainAddRelu || lsu1.ldih i29, mainAddRelu
        iau.add i10, i10, i0 || cmu.cmii.i32 i28, i2            ; i10: in0's row
        peu.pc1c eq || lsu0.ldil i29, mainMul || lsu1.ldih i29, mainMul
        iau.add i12, i12, i0 || cmu.cmii.i32 i20, i13           ; i12: out's row
        peu.pc1c neq || bru.bra layout                          ; in1's C is 1
        nop 6
        cmu.cmii.i32 i22, i14
        peu.pc1c neq || bru.bra layout                          ; in1's W is 1
        nop 6
        cmu.cmii.i32 i21, i9
        peu.pc1c neq || bru.bra denseRows                       ; in1's H is 1
        iau.mul i4, i19, i14
        iau.add i2, i11, i0
        iau.mov i1, i10
        iau.mov i3, i12
        nop 2
        iau.mul i4, i4, i15                                     ; the share's vectors
        nop
        bru.jal i29
        nop 6
        bru.swih 0

denseRows:
        iau.mul i28, i14, i15                                   ; i28: vectors a row
        nop
rowOfDense:
        iau.mov i1, i10
        iau.mov i2, i11
        iau.mov i3, i12
        iau.mov i4, i28
        bru.jal i29
        nop 6
        iau.add i10, i10, i17
        iau.add i12, i12, i17
        iau.sub i19, i19, 1
        cmu.cmii.i32 i19, i27
        peu.pc1c neq || bru.bra rowOfDense
        nop 6
        bru.swih 0

; Registers from here: i0 the piece's first pixel, i9 its pixels, i13 in1's row, i24 pixels a
; piece, i25 in1's row bytes, i28 in1's row address; v1 the lanes of C in the last group of
; channels, v7 all ones.
layout: iau.add i25, i20, 7 || lsu0.ldil i1, laneIndices || lsu1.ldih i1, laneIndices
        iau.shr i25, i25, 3 || lsu0.ld.v128 v2, i1, 0
        iau.shl i25, i25, 4
        iau.mul i25, i25, i22                                   ; i25: in1's row bytes
        iau.shl i2, i15, 3
        iau.sub i2, i2, 8 || vau.xor v7, v7, v7
        iau.sub i2, i13, i2 || vau.not v7, v7                   ; i2: channels in the last group
        cmu.bcst.i16 v3, i2
        cmu.cmvv.i16 v1, v2, v3, lt
        iau.mov i5, i24                                         ; scratch bytes
        iau.mov i24, i14                                        ; a piece: W pixels, halved until it fits
fitPiece:
        iau.mul i6, i24, i16
        nop
        cmu.cmii.u32 i6, i5
        peu.pc1c lteu || bru.bra fitted
        nop 6
        iau.shr i24, i24, 1
        bru.bra fitPiece
        nop 6
fitted: cmu.cmii.i32 i24, i27
        peu.pc1c eq || bru.swih 1                               ; not one pixel fits: the layer's scratch is wrong

rowOfPieces:
        iau.mov i13, i26 || lsu0.ldil i3, 1
        cmu.cmii.i32 i21, i3
        peu.pc1c eq || iau.mov i13, i27                         ; in1's H is 1: its row 0
        iau.mul i28, i13, i25
        iau.mov i0, i27
        iau.add i28, i28, i11                                   ; i28: in1's row
piece:  iau.sub i9, i14, i0 || cmu.cmii.i32 i22, i14
        iau.min i9, i9, i24                                     ; i9: pixels of this piece
        peu.pc1c eq || bru.bra perPixel                         ; in1's W is W: one value a pixel
        nop 6
        cmu.cmii.i32 i13, i31
        peu.pc1c eq || bru.bra run                              ; laid out for this row of in1 already
        nop 6
        iau.mov i31, i13 || lsu0.ldil i3, 1
        iau.mov i1, i28 || cmu.cmii.i32 i20, i3
        peu.pc1c eq || bru.bra pixelOfValue
        iau.mov i2, i23
        iau.mov i6, i15
        nop 4
pixelOfIn1:                                                     ; in1's pixel as it is: for each group
        lsu0.ldi.v128 v3, i1, 16 || iau.mov i3, i2              ; of channels, its vector at every pixel
        iau.sub i6, i6, 1
        nop 3
        bru.rpl i24, nextOfIn1
        lsu0.st.v128 v3, i3, 0 || iau.add i3, i3, i16
nextOfIn1:
        iau.add i2, i2, 16 || cmu.cmii.i32 i6, i27
        peu.pc1c neq || bru.bra pixelOfIn1
        nop 6
        bru.bra run
        nop 6
pixelOfValue:                                                   ; in1's one value, to every lane of C
        lsu0.ld.u16 i4, i1, 0
        nop 4
        cmu.bcst.i16 v6, i4
groupOfValue:
        iau.mov i3, i2 || cmu.cpvv v4, v7
        iau.sub i6, i6, 1
        cmu.cmii.i32 i6, i27
        peu.pc1c eq || cmu.cpvv v4, v1
        vau.and v3, v6, v4
        bru.rpl i24, nextOfValue
        lsu0.st.v128 v3, i3, 0 || iau.add i3, i3, i16
nextOfValue:
        iau.add i2, i2, 16 || cmu.cmii.i32 i6, i27
        peu.pc1c neq || bru.bra groupOfValue
        nop 6

run:    iau.mul i1, i0, i16
        iau.mul i4, i9, i15                                     ; vectors of the piece
        iau.add i3, i12, i1
        iau.add i1, i10, i1
        iau.mov i2, i23
        bru.jal i29
        nop 6
        iau.add i0, i0, i9
        cmu.cmii.i32 i0, i14
        peu.pc1c lt || bru.bra piece
        nop 6
        iau.add i10, i10, i17
        iau.add i12, i12, i17
        iau.add i26, i26, 1
        iau.sub i19, i19, 1
        cmu.cmii.i32 i19, i27
        peu.pc1c neq || bru.bra rowOfPieces
        nop 6
        bru.swih 0

; One value a pixel: for each group of channels, a loop over the piece's pixels that broadcasts
; the value and stores it with the pixel stride (the last group masked to the lanes of C).
perPixel:
        iau.shl i5, i0, 4
        iau.add i5, i28, i5                                     ; in1 at the piece's first pixel
        iau.mov i2, i23
        iau.mov i6, i15
groupOfPixels:
        iau.mov i1, i5 || cmu.cpvv v4, v7
        iau.mov i3, i2
        iau.sub i6, i6, 1
        cmu.cmii.i32 i6, i27
        peu.pc1c eq || cmu.cpvv v4, v1
        bru.rpl i9, pixelsDone
        lsu0.ldi.u16 i4, i1, 16
        nop 4
        cmu.bcst.i16 v3, i4
        vau.and v3, v3, v4
        lsu0.st.v128 v3, i3, 0 || iau.add i3, i3, i16
pixelsDone:
        iau.add i2, i2, 16
        cmu.cmii.i32 i6, i27
        peu.pc1c neq || bru.bra groupOfPixels
        nop 6
        bru.bra run
        nop 6

; ---- the routines: i1 in0, i2 the second operand, i3 out, i4 vectors; they use i1-i8.
; mainAdd and mainMul: 12 bundles for 8 vectors (the LSUs are the bound: 3 accesses a vector).
; In triple T of a pass (bundles 3T, 3T+1, 3T+2) vectors 2T and 2T+1 are loaded (a in
; v8-v15, b in v16-v23); vector 2t's sum (w, v24-v31) issues 5 bundles after its loads, 2t+1's
; 6 after its first; the stores come out of order, so they use offsets from i3, which points at
; the group before the one being loaded.
mainAdd:
        iau.shr i5, i4, 3 || lsu0.ldil i8, 0
        iau.and i6, i4, 7
        iau.sub i7, i5, 1 || cmu.cmii.i32 i5, i8
        peu.pc1c eq || bru.bra addTail
        nop 6
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16 || iau.sub i3, i3, 128
        lsu0.ldi.v128 v9, i1, 16
        lsu1.ldi.v128 v17, i2, 16
        lsu0.ldi.v128 v10, i1, 16 || lsu1.ldi.v128 v18, i2, 16
        lsu0.ldi.v128 v11, i1, 16
        lsu1.ldi.v128 v19, i2, 16 || vau.add.f16 v24, v8, v16
        lsu0.ldi.v128 v12, i1, 16 || lsu1.ldi.v128 v20, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || lsu1.st.v128 v24, i3, 128 || vau.add.f16 v25, v9, v17
        lsu1.ldi.v128 v21, i2, 16 || vau.add.f16 v26, v10, v18
        lsu0.ldi.v128 v14, i1, 16 || lsu1.ldi.v128 v22, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || lsu1.st.v128 v26, i3, 160 || vau.add.f16 v27, v11, v19
        lsu1.ldi.v128 v23, i2, 16 || lsu0.st.v128 v25, i3, 144 || vau.add.f16 v28, v12, v20 || iau.add i3, i3, 128 || bru.rpl i7, addDrain
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16
        lsu0.ldi.v128 v9, i1, 16 || lsu1.st.v128 v28, i3, 64 || vau.add.f16 v29, v13, v21
        lsu1.ldi.v128 v17, i2, 16 || lsu0.st.v128 v27, i3, 48 || vau.add.f16 v30, v14, v22
        lsu0.ldi.v128 v10, i1, 16 || lsu1.ldi.v128 v18, i2, 16
        lsu0.ldi.v128 v11, i1, 16 || lsu1.st.v128 v30, i3, 96 || vau.add.f16 v31, v15, v23
        lsu1.ldi.v128 v19, i2, 16 || lsu0.st.v128 v29, i3, 80 || vau.add.f16 v24, v8, v16
        lsu0.ldi.v128 v12, i1, 16 || lsu1.ldi.v128 v20, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || lsu1.st.v128 v24, i3, 128 || vau.add.f16 v25, v9, v17
        lsu1.ldi.v128 v21, i2, 16 || lsu0.st.v128 v31, i3, 112 || vau.add.f16 v26, v10, v18
        lsu0.ldi.v128 v14, i1, 16 || lsu1.ldi.v128 v22, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || lsu1.st.v128 v26, i3, 160 || vau.add.f16 v27, v11, v19
        lsu1.ldi.v128 v23, i2, 16 || lsu0.st.v128 v25, i3, 144 || vau.add.f16 v28, v12, v20 || iau.add i3, i3, 128
addDrain:
        nop
        lsu1.st.v128 v28, i3, 64 || vau.add.f16 v29, v13, v21
        lsu0.st.v128 v27, i3, 48 || vau.add.f16 v30, v14, v22
        nop
        lsu1.st.v128 v30, i3, 96 || vau.add.f16 v31, v15, v23
        lsu0.st.v128 v29, i3, 80
        nop 2
        lsu0.st.v128 v31, i3, 112 || iau.add i3, i3, 128
addTail:
        bru.rpl i6, addDone
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16
        nop 4
        vau.add.f16 v24, v8, v16
        nop
        lsu0.sti.v128 v24, i3, 16
addDone:
        bru.ret
        nop 6

mainMul:
        iau.shr i5, i4, 3 || lsu0.ldil i8, 0
        iau.and i6, i4, 7
        iau.sub i7, i5, 1 || cmu.cmii.i32 i5, i8
        peu.pc1c eq || bru.bra mulTail
        nop 6
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16 || iau.sub i3, i3, 128
        lsu0.ldi.v128 v9, i1, 16
        lsu1.ldi.v128 v17, i2, 16
        lsu0.ldi.v128 v10, i1, 16 || lsu1.ldi.v128 v18, i2, 16
        lsu0.ldi.v128 v11, i1, 16
        lsu1.ldi.v128 v19, i2, 16 || vau.mul.f16 v24, v8, v16
        lsu0.ldi.v128 v12, i1, 16 || lsu1.ldi.v128 v20, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || lsu1.st.v128 v24, i3, 128 || vau.mul.f16 v25, v9, v17
        lsu1.ldi.v128 v21, i2, 16 || vau.mul.f16 v26, v10, v18
        lsu0.ldi.v128 v14, i1, 16 || lsu1.ldi.v128 v22, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || lsu1.st.v128 v26, i3, 160 || vau.mul.f16 v27, v11, v19
        lsu1.ldi.v128 v23, i2, 16 || lsu0.st.v128 v25, i3, 144 || vau.mul.f16 v28, v12, v20 || iau.add i3, i3, 128 || bru.rpl i7, mulDrain
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16
        lsu0.ldi.v128 v9, i1, 16 || lsu1.st.v128 v28, i3, 64 || vau.mul.f16 v29, v13, v21
        lsu1.ldi.v128 v17, i2, 16 || lsu0.st.v128 v27, i3, 48 || vau.mul.f16 v30, v14, v22
        lsu0.ldi.v128 v10, i1, 16 || lsu1.ldi.v128 v18, i2, 16
        lsu0.ldi.v128 v11, i1, 16 || lsu1.st.v128 v30, i3, 96 || vau.mul.f16 v31, v15, v23
        lsu1.ldi.v128 v19, i2, 16 || lsu0.st.v128 v29, i3, 80 || vau.mul.f16 v24, v8, v16
        lsu0.ldi.v128 v12, i1, 16 || lsu1.ldi.v128 v20, i2, 16
        lsu0.ldi.v128 v13, i1, 16 || lsu1.st.v128 v24, i3, 128 || vau.mul.f16 v25, v9, v17
        lsu1.ldi.v128 v21, i2, 16 || lsu0.st.v128 v31, i3, 112 || vau.mul.f16 v26, v10, v18
        lsu0.ldi.v128 v14, i1, 16 || lsu1.ldi.v128 v22, i2, 16
        lsu0.ldi.v128 v15, i1, 16 || lsu1.st.v128 v26, i3, 160 || vau.mul.f16 v27, v11, v19
        lsu1.ldi.v128 v23, i2, 16 || lsu0.st.v128 v25, i3, 144 || vau.mul.f16 v28, v12, v20 || iau.add i3, i3, 128
mulDrain:
        nop
        lsu1.st.v128 v28, i3, 64 || vau.mul.f16 v29, v13, v21
        lsu0.st.v128 v27, i3, 48 || vau.mul.f16 v30, v14, v22
        nop
        lsu1.st.v128 v30, i3, 96 || vau.mul.f16 v31, v15, v23
        lsu0.st.v128 v29, i3, 80
        nop 2
        lsu0.st.v128 v31, i3, 112 || iau.add i3, i3, 128
mulTail:
        bru.rpl i6, mulDone
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16
        nop 4
        vau.mul.f16 v24, v8, v16
        nop
        lsu0.sti.v128 v24, i3, 16
mulDone:
        bru.ret
        nop 6

; mainAddRelu: 16 bundles for 8 vectors (the VAU is the bound: two operations a vector).
; Vector j is loaded in bundle 2j (a in v8-v15, b in v16-v23), its sum (v24-v31) issues 5
; bundles later, the max with +0 8 later and the store 11 later (stores 0-2 in the same pass,
; 3-7 in the next).
mainAddRelu:
        iau.shr i5, i4, 3 || lsu0.ldil i8, 0
        iau.and i6, i4, 7
        iau.sub i7, i5, 1 || cmu.cmii.i32 i5, i8
        peu.pc1c eq || bru.bra reluTail
        nop 6
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16
        nop
        lsu0.ldi.v128 v9, i1, 16 || lsu1.ldi.v128 v17, i2, 16
        nop
        lsu0.ldi.v128 v10, i1, 16 || lsu1.ldi.v128 v18, i2, 16
        vau.add.f16 v24, v8, v16
        lsu0.ldi.v128 v11, i1, 16 || lsu1.ldi.v128 v19, i2, 16
        vau.add.f16 v25, v9, v17
        lsu0.ldi.v128 v12, i1, 16 || lsu1.ldi.v128 v20, i2, 16 || vau.max.f16 v24, v24, v0
        vau.add.f16 v26, v10, v18
        lsu0.ldi.v128 v13, i1, 16 || lsu1.ldi.v128 v21, i2, 16 || vau.max.f16 v25, v25, v0
        vau.add.f16 v27, v11, v19 || lsu0.sti.v128 v24, i3, 16
        lsu0.ldi.v128 v14, i1, 16 || lsu1.ldi.v128 v22, i2, 16 || vau.max.f16 v26, v26, v0
        vau.add.f16 v28, v12, v20 || lsu0.sti.v128 v25, i3, 16
        lsu0.ldi.v128 v15, i1, 16 || lsu1.ldi.v128 v23, i2, 16 || vau.max.f16 v27, v27, v0
        vau.add.f16 v29, v13, v21 || lsu0.sti.v128 v26, i3, 16 || bru.rpl i7, reluDrain
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16 || vau.max.f16 v28, v28, v0
        vau.add.f16 v30, v14, v22 || lsu0.sti.v128 v27, i3, 16
        lsu0.ldi.v128 v9, i1, 16 || lsu1.ldi.v128 v17, i2, 16 || vau.max.f16 v29, v29, v0
        vau.add.f16 v31, v15, v23 || lsu0.sti.v128 v28, i3, 16
        lsu0.ldi.v128 v10, i1, 16 || lsu1.ldi.v128 v18, i2, 16 || vau.max.f16 v30, v30, v0
        vau.add.f16 v24, v8, v16 || lsu0.sti.v128 v29, i3, 16
        lsu0.ldi.v128 v11, i1, 16 || lsu1.ldi.v128 v19, i2, 16 || vau.max.f16 v31, v31, v0
        vau.add.f16 v25, v9, v17 || lsu0.sti.v128 v30, i3, 16
        lsu0.ldi.v128 v12, i1, 16 || lsu1.ldi.v128 v20, i2, 16 || vau.max.f16 v24, v24, v0
        vau.add.f16 v26, v10, v18 || lsu0.sti.v128 v31, i3, 16
        lsu0.ldi.v128 v13, i1, 16 || lsu1.ldi.v128 v21, i2, 16 || vau.max.f16 v25, v25, v0
        vau.add.f16 v27, v11, v19 || lsu0.sti.v128 v24, i3, 16
        lsu0.ldi.v128 v14, i1, 16 || lsu1.ldi.v128 v22, i2, 16 || vau.max.f16 v26, v26, v0
        vau.add.f16 v28, v12, v20 || lsu0.sti.v128 v25, i3, 16
        lsu0.ldi.v128 v15, i1, 16 || lsu1.ldi.v128 v23, i2, 16 || vau.max.f16 v27, v27, v0
        vau.add.f16 v29, v13, v21 || lsu0.sti.v128 v26, i3, 16
reluDrain:
        vau.max.f16 v28, v28, v0
        vau.add.f16 v30, v14, v22 || lsu0.sti.v128 v27, i3, 16
        vau.max.f16 v29, v29, v0
        vau.add.f16 v31, v15, v23 || lsu0.sti.v128 v28, i3, 16
        vau.max.f16 v30, v30, v0
        lsu0.sti.v128 v29, i3, 16
        vau.max.f16 v31, v31, v0
        lsu0.sti.v128 v30, i3, 16
        nop
        lsu0.sti.v128 v31, i3, 16
reluTail:
        bru.rpl i6, reluDone
        lsu0.ldi.v128 v8, i1, 16 || lsu1.ldi.v128 v16, i2, 16
        nop 4
        vau.add.f16 v24, v8, v16
        nop
        vau.max.f16 v24, v24, v0
        nop
        lsu0.sti.v128 v24, i3, 16
reluDone:
        bru.ret
        nop 6

        .data
laneIndices:
        .half 0, 1, 2, 3, 4, 5, 6, 7
