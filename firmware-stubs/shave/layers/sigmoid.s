; sigmoid and tanh, lane by lane, through the SAU's f32 exp and rcp (each computed in f64 and
; rounded once to f32, docs/shave-isa.md):
;   sigmoid(x) = f16(rcp(1 + exp(-x)))
;   tanh(x)    = x where |x| < 2^-6 (there tanh(x) rounds to x), else
;                sign(x) * f16(2 * rcp(1 + exp(y)) - 1) with y = f16(-|x| + -|x|)
; each f32 operation rounded to f32 (2r - 1 is exact for r in [1/2, 1]). Large |x| needs no
; care: exp gives 0 or +inf and rcp(+inf) is 0, so sigmoid(-inf) = +0, sigmoid(+inf) = 1,
; tanh(+-inf) = +-1, and -|x| + -|x| overflowing f16 to -inf changes nothing. A NaN gives the
; default NaN 0x7E00 (tanh: with the input's sign).
; Job (emu/graph/job.ts), split by elements: the share is count 8-lane vectors from vector
; `first` of in0 and out, both dense HWC8 with the same strides. Params: word 0 the function:
; 0 sigmoid, 1 tanh. Scratch (CMX): 12448 bytes.
;
; The share goes in chunks of up to 256 vectors, each in three loops:
;  A (vector): x to the exp's f32 argument, -x or y, two f32 vectors a vector of x, into F
;    (tanh keeps x too, in X);
;  S (scalar, the SAU): in place in F, per element r = rcp(1 + exp(t)), three SAU operations
;    (the one SAU is the bound: 3 cycles an element, 24 a vector; this loop stays interpreted,
;    as the loop compiler has no template for the SAU's exp and rcp);
;  E (vector): r to f16 into out (tanh: 2r - 1, its sign and the small |x|).
; A and E are software-pipelined one vector a pass: every register is loaded or written again
; only in the bundle that last reads it or later, so they are right for loads of 3 cycles (CMX)
; and of 5 (DDR). Their first passes store garbage into F's guard bytes (A, S) or leave the
; store out (E); A's last passes leave the loads out, E's read a vector past the chunk in F and
; X, also guard bytes. Scratch: 64 guard, F (256 * 32), 64 guard, 16 guard, X (256 * 16), 16 guard.
        .code
sigmoid:
        lsu0.ld.i32 i1, i18, 0 || lsu1.ld.i32 i2, i18, 64       ; in0, out
        lsu0.ld.i32 i15, i18, 104 || lsu1.ld.i32 i3, i18, 108   ; first, count: i3 vectors to go
        lsu0.ld.i32 i6, i18, 112 || lsu1.ld.i32 i8, i18, 128    ; scratch, function
        lsu0.ldil i5, 256 || lsu1.ldil i14, 0                   ; i5: vectors a chunk
        lsu0.ldil i9, 0x8000 || lsu1.ldil i10, 0x7fff
        lsu0.ldil i11, 0x2400 || cmu.bcst.i16 v1, i9            ; v1: f16 sign bits
        lsu0.ldil i12, 0 || lsu1.ldih i12, 0xbf80 || cmu.bcst.i16 v4, i10   ; v4: f16 magnitude bits
        lsu0.ldil i13, 0 || lsu1.ldih i13, 0x4000 || cmu.bcst.i16 v5, i11   ; v5: 2^-6 as f16
        iau.shl i15, i15, 4 || cmu.bcst.i32 v2, i12             ; v2: -1.0 (f32)
        iau.add i1, i1, i15 || cmu.bcst.i32 v3, i13             ; v3: 2.0 (f32)
        iau.add i2, i2, i15 || lsu0.ldil i12, 0 || lsu1.ldih i12, 0x3f80
        iau.add i6, i6, 64 || cmu.cpsi s10, i12                 ; i6: F; s10: 1.0 (f32)
        iau.shl i7, i5, 5
        iau.add i7, i6, i7
        iau.add i7, i7, 80                                      ; i7: X

chunk:  iau.min i4, i3, i5 || cmu.cmii.i32 i8, i14              ; i4: vectors of this chunk
        peu.pc1c neq || bru.bra tanhA
        iau.sub i10, i6, 64                                     ; i10: where A stores in F
        iau.sub i11, i7, 16                                     ; i11: where A stores in X
        nop 4

; A, sigmoid: x loaded in bundle 0, -x 5 bundles later, its halves to f32 2 and 3 later, stored
; 4 later (low) and 6 later (high): F gets x's lanes 0-3, then 4-7, as f32.
        iau.add i10, i10, 16
        bru.rpl i4, sigmoidDrain
        lsu0.ldi.v128 v8, i1, 16 || vau.neg.f16 v9, v8
        lsu1.sti.v128 v12, i10, 16
        vau.cvt.f32.f16 v10, v9 || cmu.vshuf.i32 v11, v9, 0xee
        vau.cvt.f32.f16 v12, v11
        lsu1.sti.v128 v10, i10, 16
sigmoidDrain:
        vau.neg.f16 v9, v8
        lsu1.sti.v128 v12, i10, 16
        vau.cvt.f32.f16 v10, v9 || cmu.vshuf.i32 v11, v9, 0xee
        vau.cvt.f32.f16 v12, v11
        lsu1.sti.v128 v10, i10, 16
        nop
        lsu1.sti.v128 v12, i10, 16
        bru.bra scalar
        nop 6

; A, tanh: x loaded in bundle 0; 5 bundles later -|x| (and x into X), then y = -|x| + -|x|
; (f16), its halves to f32 8 and 9 later, stored 11 and 12 later.
tanhA:  bru.rpl i4, tanhDrain
        lsu0.ldi.v128 v8, i1, 16 || lsu1.sti.v128 v8, i11, 16 || vau.or v9, v8, v1
        vau.add.f16 v13, v9, v9 || lsu1.sti.v128 v10, i10, 16
        lsu1.sti.v128 v12, i10, 16
        vau.cvt.f32.f16 v10, v13 || cmu.vshuf.i32 v11, v13, 0xee
        vau.cvt.f32.f16 v12, v11
tanhDrain:
        lsu1.sti.v128 v8, i11, 16 || vau.or v9, v8, v1
        vau.add.f16 v13, v9, v9 || lsu1.sti.v128 v10, i10, 16
        lsu1.sti.v128 v12, i10, 16
        vau.cvt.f32.f16 v10, v13 || cmu.vshuf.i32 v11, v13, 0xee
        vau.cvt.f32.f16 v12, v11
        nop
        lsu1.sti.v128 v10, i10, 16
        lsu1.sti.v128 v12, i10, 16

; S: element e loaded in bundle 3e, exp 5 bundles later, + 1 9 later, rcp 13 later, stored 17
; later, two elements a pass; the stores trail the loads by 5 elements (20 bytes).
scalar: iau.mov i12, i6
        iau.sub i13, i6, 20
        iau.shl i9, i4, 2
        iau.add i9, i9, 3                                       ; 8 elements a vector, 2 a pass, 3 to drain
        bru.rpl i9, scalarDone
        lsu0.ldi.s32 s1, i12, 4 || sau.add.f32 s6, s4, s10
        sau.rcp.f32 s7, s5
        sau.exp.f32 s4, s2 || lsu1.sti.s32 s8, i13, 4
        lsu0.ldi.s32 s2, i12, 4 || sau.add.f32 s5, s3, s10
        sau.rcp.f32 s8, s6
        sau.exp.f32 s3, s1 || lsu1.sti.s32 s7, i13, 4
scalarDone:
        iau.mov i10, i6 || cmu.cmii.i32 i8, i14                 ; i10: where E loads from F
        peu.pc1c neq || bru.bra tanhE
        iau.mov i11, i7                                         ; i11: where E loads from X
        nop 5

; E, sigmoid: r's low and high halves loaded in bundles 0 and 1, to f16 in the next pass's
; bundles 0 and 1, stored (8 bytes each) in its bundles 2 and 3.
        lsu0.ldi.v128 v20, i10, 16
        lsu0.ldi.v128 v21, i10, 16
        nop
        bru.rpl i4, sigmoidDone
        lsu0.ldi.v128 v20, i10, 16 || vau.cvt.f16.f32 v22, v20
        lsu0.ldi.v128 v21, i10, 16 || vau.cvt.f16.f32 v23, v21
        lsu1.sti.v64 v22, i2, 8
        lsu1.sti.v64 v23, i2, 8
sigmoidDone:
        bru.bra nextChunk
        nop 6

; E, tanh: r's halves and x loaded in one pass; in the next, 2r - 1 (a mac onto -1), to f16
; and together (v31), the sign bits of x (v28) or'd in, and x itself where |x| < 2^-6 (mask
; v15), stored in its last bundle.
tanhE:  lsu0.ldi.v128 v20, i10, 16
        lsu0.ldi.v128 v21, i10, 16
        lsu0.ldi.v128 v24, i11, 16 || cmu.cpvv v22, v2
        bru.rpl i4, nextChunk
        lsu0.ldi.v128 v20, i10, 16 || vau.mac.f32 v22, v20, v3 || cmu.cpvv v23, v2
        lsu0.ldi.v128 v21, i10, 16 || vau.mac.f32 v23, v21, v3
        vau.and v25, v24, v4
        vau.cvt.f16.f32 v26, v22
        vau.cvt.f16.f32 v27, v23
        vau.xor v28, v24, v25
        vau.sub.i16 v29, v25, v5 || cmu.vshuf.i32 v30, v27, 0x4e
        vau.or v31, v26, v30
        vau.sar.i16 v15, v29, 15
        vau.or v31, v31, v28
        vau.xor v16, v31, v24
        vau.and v16, v16, v15
        vau.xor v17, v31, v16 || lsu0.ldi.v128 v24, i11, 16 || cmu.cpvv v22, v2
        lsu1.sti.v128 v17, i2, 16

nextChunk:
        iau.sub i3, i3, i4
        cmu.cmii.i32 i3, i14
        peu.pc1c neq || bru.bra chunk
        nop 6
        bru.swih 0
