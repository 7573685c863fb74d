;; GEMM kernels in baseline WebAssembly SIMD (128-bit).
;;
;; Only deterministic instructions: integer arithmetic wraps like int32 hardware, float products and
;; sums are separately rounded (baseline SIMD has no fused multiply-add). Relaxed SIMD is avoided
;; on purpose: its dot products and FMAs may give different bits on different CPUs.
;;
;; Every pointer is a byte offset into the exported memory; gemm.ts lays the operands out:
;;   B panels  B cut into panels of 8 columns (the last one zero-padded). A float panel stores, for
;;             each k, B[k, 8j .. 8j+7] contiguously. An int8 panel interleaves k in pairs instead:
;;             16 bytes [B[2p, c], B[2p+1, c]] for c = 0..7 per pair p (an odd k is padded with a
;;             zero row), the operand shape of i32x4.dot_i16x8_s.
;;   A         row-major with pitch `lda` bytes; int8 A is first widened to int16 by widen_i8.
;;   C         row-major with pitch `ldc` bytes, holding at least round_up(m, 4) rows and every
;;             panel's 8 columns, so tile stores never test bounds.
;;
;; Each kernel walks the panels (outer loop) and blocks of MR rows (inner loop), accumulating an
;; MR×8 tile of C in registers. Rows past m repeat the last row of A (their sums land in C's padding
;; rows), so a block never reads outside A. The tile sizes are the fastest measured under V8,
;; whose x64 code has 16 vector registers: larger tiles spill. The kernels call no functions and
;; write C without branches (a lane mask `keep` selects C + sum or sum): a call per tile cost
;; about 8% of the speed. Such constants are splatted per tile, not once per call, because
;; keeping them live across the k loop takes registers from the tile.

(module
  (memory (export "memory") 1)

  ;; dst[r, j] = src[r, j] − zero[r] as int16 for an m×k int8 (or uint8 when `unsigned`) matrix
  ;; with pitch k, into rows of pitch `ldd` bytes; an odd k gets a trailing 0 so rows hold whole
  ;; pairs. `zero` holds int32 zero points, advanced by `zero_step` bytes per row (0: one shared).
  ;; With int8/uint8 values and zero points every difference fits in int16.
  (func (export "widen_i8")
    (param $src i32) (param $m i32) (param $k i32) (param $zero i32) (param $zero_step i32)
    (param $unsigned i32) (param $dst i32) (param $ldd i32)
    (local $j i32) (local $k8 i32) (local $s i32) (local $z i32) (local $zv v128) (local $v v128)
    (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
    (loop $rows
      (local.set $z (i32.load (local.get $zero)))
      (local.set $zv (i16x8.splat (local.get $z)))
      (local.set $j (i32.const 0))
      (block $vector_done
        (loop $vector
          (br_if $vector_done (i32.ge_u (local.get $j) (local.get $k8)))
          (local.set $s (i32.add (local.get $src) (local.get $j)))
          (local.set $v
            (if (result v128) (local.get $unsigned)
              (then (v128.load8x8_u (local.get $s)))
              (else (v128.load8x8_s (local.get $s)))))
          (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 1)))
            (i16x8.sub (local.get $v) (local.get $zv)))
          (local.set $j (i32.add (local.get $j) (i32.const 8)))
          (br $vector)))
      (block $tail_done
        (loop $tail
          (br_if $tail_done (i32.ge_u (local.get $j) (local.get $k)))
          (local.set $s (i32.add (local.get $src) (local.get $j)))
          (i32.store16 (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 1)))
            (i32.sub
              (if (result i32) (local.get $unsigned)
                (then (i32.load8_u (local.get $s)))
                (else (i32.load8_s (local.get $s))))
              (local.get $z)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $tail)))
      (if (i32.and (local.get $k) (i32.const 1))
        (then (i32.store16 (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 1))) (i32.const 0))))
      (local.set $src (i32.add (local.get $src) (local.get $k)))
      (local.set $dst (i32.add (local.get $dst) (local.get $ldd)))
      (local.set $zero (i32.add (local.get $zero) (local.get $zero_step)))
      (br_if $rows (local.tee $m (i32.sub (local.get $m) (i32.const 1))))))

  ;; int8 panels from B staged row-major: 2·kp rows of pitch `ldb` bytes and np·8 columns, padding
  ;; zeroed. Pair p of panel j interleaves the bytes of rows 2p and 2p + 1 at columns 8j .. 8j+7.
  (func (export "pack_i8") (param $src i32) (param $kp i32) (param $ldb i32) (param $np i32) (param $dst i32)
    (local $s i32) (local $end i32)
    (loop $panels
      (local.set $s (local.get $src))
      (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $kp) (i32.const 4))))
      (loop $pairs
        (v128.store (local.get $dst)
          (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
            (v128.load64_zero (local.get $s))
            (v128.load64_zero (i32.add (local.get $s) (local.get $ldb)))))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $ldb) (i32.const 1))))
        (br_if $pairs (i32.lt_u (local.tee $dst (i32.add (local.get $dst) (i32.const 16))) (local.get $end))))
      (local.set $src (i32.add (local.get $src) (i32.const 8)))
      (br_if $panels (local.tee $np (i32.sub (local.get $np) (i32.const 1))))))

  ;; Float panels from B staged row-major: k rows of pitch `ldb` bytes and np panels of `width`
  ;; bytes (8 elements, a multiple of 16), padding zeroed. Panel j holds each row's j-th slice.
  (func (export "pack_rows") (param $src i32) (param $k i32) (param $ldb i32) (param $np i32) (param $width i32) (param $dst i32)
    (local $s i32) (local $p i32) (local $o i32)
    (loop $panels
      (local.set $s (local.get $src))
      (local.set $p (local.get $k))
      (loop $rows
        (local.set $o (i32.const 0))
        (loop $slice
          (v128.store (i32.add (local.get $dst) (local.get $o)) (v128.load (i32.add (local.get $s) (local.get $o))))
          (br_if $slice (i32.lt_u (local.tee $o (i32.add (local.get $o) (i32.const 16))) (local.get $width))))
        (local.set $dst (i32.add (local.get $dst) (local.get $width)))
        (local.set $s (i32.add (local.get $s) (local.get $ldb)))
        (br_if $rows (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
      (local.set $src (i32.add (local.get $src) (local.get $width)))
      (br_if $panels (local.tee $np (i32.sub (local.get $np) (i32.const 1))))))

  ;; C[m×8·np] (+)= A16[m×2kp] · B over int8 panels of kp pairs, in wrapping int32 arithmetic.
  ;; 4×8 tile: per pair of k, each row's (A[r,2p], A[r,2p+1]) is splatted to all lanes and
  ;; dot_i16x8_s against a panel half yields A[r,2p]·B[2p,c] + A[r,2p+1]·B[2p+1,c] for 4 columns c.
  (func (export "gemm_i8")
    (param $a i32) (param $lda i32) (param $m i32) (param $b i32) (param $kp i32) (param $np i32)
    (param $c i32) (param $ldc i32) (param $accumulate i32)
    (local $panel_bytes i32) (local $b_end i32) (local $i i32) (local $pb i32) (local $k_end i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $cp i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128) (local $keep v128)
    (local.set $panel_bytes (i32.shl (local.get $kp) (i32.const 4)))
    (local.set $b_end (i32.add (local.get $b) (i32.mul (local.get $np) (local.get $panel_bytes))))
    (loop $panels
      (local.set $i (i32.const 0))
      (loop $blocks
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
        (local.set $a1 (i32.add (local.get $a0)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $m)))))
        (local.set $a2 (i32.add (local.get $a1)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $m)))))
        (local.set $a3 (i32.add (local.get $a2)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 3)) (local.get $m)))))
        (local.set $c00 (v128.const i64x2 0 0)) (local.set $c01 (v128.const i64x2 0 0))
        (local.set $c10 (v128.const i64x2 0 0)) (local.set $c11 (v128.const i64x2 0 0))
        (local.set $c20 (v128.const i64x2 0 0)) (local.set $c21 (v128.const i64x2 0 0))
        (local.set $c30 (v128.const i64x2 0 0)) (local.set $c31 (v128.const i64x2 0 0))
        (local.set $pb (local.get $b))
        (local.set $k_end (i32.add (local.get $b) (local.get $panel_bytes)))
        (loop $k
          (local.set $b0 (v128.load8x8_s (local.get $pb)))
          (local.set $b1 (v128.load8x8_s offset=8 (local.get $pb)))
          (local.set $x (v128.load32_splat (local.get $a0)))
          (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $x) (local.get $b0))))
          (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat (local.get $a1)))
          (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $x) (local.get $b0))))
          (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat (local.get $a2)))
          (local.set $c20 (i32x4.add (local.get $c20) (i32x4.dot_i16x8_s (local.get $x) (local.get $b0))))
          (local.set $c21 (i32x4.add (local.get $c21) (i32x4.dot_i16x8_s (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat (local.get $a3)))
          (local.set $c30 (i32x4.add (local.get $c30) (i32x4.dot_i16x8_s (local.get $x) (local.get $b0))))
          (local.set $c31 (i32x4.add (local.get $c31) (i32x4.dot_i16x8_s (local.get $x) (local.get $b1))))
          (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
          (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
          (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
          (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
          (br_if $k (i32.lt_u (local.tee $pb (i32.add (local.get $pb) (i32.const 16))) (local.get $k_end))))
        (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (local.get $accumulate))))
        (local.set $cp (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (v128.store (local.get $cp) (i32x4.add (local.get $c00) (v128.and (v128.load (local.get $cp)) (local.get $keep))))
        (v128.store offset=16 (local.get $cp) (i32x4.add (local.get $c01) (v128.and (v128.load offset=16 (local.get $cp)) (local.get $keep))))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (v128.store (local.get $cp) (i32x4.add (local.get $c10) (v128.and (v128.load (local.get $cp)) (local.get $keep))))
        (v128.store offset=16 (local.get $cp) (i32x4.add (local.get $c11) (v128.and (v128.load offset=16 (local.get $cp)) (local.get $keep))))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (v128.store (local.get $cp) (i32x4.add (local.get $c20) (v128.and (v128.load (local.get $cp)) (local.get $keep))))
        (v128.store offset=16 (local.get $cp) (i32x4.add (local.get $c21) (v128.and (v128.load offset=16 (local.get $cp)) (local.get $keep))))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (v128.store (local.get $cp) (i32x4.add (local.get $c30) (v128.and (v128.load (local.get $cp)) (local.get $keep))))
        (v128.store offset=16 (local.get $cp) (i32x4.add (local.get $c31) (v128.and (v128.load offset=16 (local.get $cp)) (local.get $keep))))
        (br_if $blocks (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $m))))
      (local.set $c (i32.add (local.get $c) (i32.const 32)))
      (br_if $panels (i32.lt_u (local.tee $b (i32.add (local.get $b) (local.get $panel_bytes))) (local.get $b_end)))))

  ;; C[m×8·np] = α·A[m×k]·B (+ C) in float32: every product and every sum rounded to float32,
  ;; summed in order of k from +0, then C = α·sum or C + α·sum.
  ;; 4×8 tile: each row's A[r, k] is splatted and multiplied by the panel's 8 values at k.
  (func (export "gemm_f32")
    (param $a i32) (param $lda i32) (param $m i32) (param $b i32) (param $k i32) (param $np i32)
    (param $c i32) (param $ldc i32) (param $alpha f32) (param $accumulate i32)
    (local $panel_bytes i32) (local $b_end i32) (local $i i32) (local $pb i32) (local $k_end i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $cp i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128) (local $keep v128) (local $scale v128)
    (local.set $panel_bytes (i32.shl (local.get $k) (i32.const 5)))
    (local.set $b_end (i32.add (local.get $b) (i32.mul (local.get $np) (local.get $panel_bytes))))
    (loop $panels
      (local.set $i (i32.const 0))
      (loop $blocks
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
        (local.set $a1 (i32.add (local.get $a0)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $m)))))
        (local.set $a2 (i32.add (local.get $a1)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $m)))))
        (local.set $a3 (i32.add (local.get $a2)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 3)) (local.get $m)))))
        (local.set $c00 (v128.const i64x2 0 0)) (local.set $c01 (v128.const i64x2 0 0))
        (local.set $c10 (v128.const i64x2 0 0)) (local.set $c11 (v128.const i64x2 0 0))
        (local.set $c20 (v128.const i64x2 0 0)) (local.set $c21 (v128.const i64x2 0 0))
        (local.set $c30 (v128.const i64x2 0 0)) (local.set $c31 (v128.const i64x2 0 0))
        (local.set $pb (local.get $b))
        (local.set $k_end (i32.add (local.get $b) (local.get $panel_bytes)))
        (loop $k
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $x (v128.load32_splat (local.get $a0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat (local.get $a1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat (local.get $a2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat (local.get $a3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
          (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
          (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
          (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
          (br_if $k (i32.lt_u (local.tee $pb (i32.add (local.get $pb) (i32.const 32))) (local.get $k_end))))
        (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (local.get $accumulate))))
        (local.set $scale (f32x4.splat (local.get $alpha)))
        (local.set $cp (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (local.set $x (f32x4.mul (local.get $c00) (local.get $scale)))
        (v128.store (local.get $cp) (v128.bitselect (f32x4.add (v128.load (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $x (f32x4.mul (local.get $c01) (local.get $scale)))
        (v128.store offset=16 (local.get $cp)
          (v128.bitselect (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (local.set $x (f32x4.mul (local.get $c10) (local.get $scale)))
        (v128.store (local.get $cp) (v128.bitselect (f32x4.add (v128.load (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $x (f32x4.mul (local.get $c11) (local.get $scale)))
        (v128.store offset=16 (local.get $cp)
          (v128.bitselect (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (local.set $x (f32x4.mul (local.get $c20) (local.get $scale)))
        (v128.store (local.get $cp) (v128.bitselect (f32x4.add (v128.load (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $x (f32x4.mul (local.get $c21) (local.get $scale)))
        (v128.store offset=16 (local.get $cp)
          (v128.bitselect (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (local.set $x (f32x4.mul (local.get $c30) (local.get $scale)))
        (v128.store (local.get $cp) (v128.bitselect (f32x4.add (v128.load (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (local.set $x (f32x4.mul (local.get $c31) (local.get $scale)))
        (v128.store offset=16 (local.get $cp)
          (v128.bitselect (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $x)) (local.get $x) (local.get $keep)))
        (br_if $blocks (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $m))))
      (local.set $c (i32.add (local.get $c) (i32.const 32)))
      (br_if $panels (i32.lt_u (local.tee $b (i32.add (local.get $b) (local.get $panel_bytes))) (local.get $b_end)))))

  ;; C[m×8·np] = α·A[m×kc]·B (+ C) with float64 operands and sums and a float32 C: the exact
  ;; arithmetic of the TypeScript sgemm (sums in order of k from +0 in float64, then C rounded once
  ;; per call to float32 from α·sum or C + α·sum). A float64 panel is `panel_bytes` long; `b` may
  ;; point into the first one to start at a later k. 2×8 tile: four float64 pairs per row.
  (func (export "gemm_f64")
    (param $a i32) (param $lda i32) (param $m i32) (param $b i32) (param $panel_bytes i32)
    (param $kc i32) (param $np i32) (param $c i32) (param $ldc i32) (param $alpha f64) (param $accumulate i32)
    (local $b_end i32) (local $i i32) (local $pb i32) (local $k_end i32)
    (local $a0 i32) (local $a1 i32) (local $cp i32)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128) (local $keep v128) (local $scale v128)
    (local.set $b_end (i32.add (local.get $b) (i32.mul (local.get $np) (local.get $panel_bytes))))
    (loop $panels
      (local.set $i (i32.const 0))
      (loop $blocks
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
        (local.set $a1 (i32.add (local.get $a0)
          (select (local.get $lda) (i32.const 0) (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $m)))))
        (local.set $c00 (v128.const i64x2 0 0)) (local.set $c01 (v128.const i64x2 0 0))
        (local.set $c02 (v128.const i64x2 0 0)) (local.set $c03 (v128.const i64x2 0 0))
        (local.set $c10 (v128.const i64x2 0 0)) (local.set $c11 (v128.const i64x2 0 0))
        (local.set $c12 (v128.const i64x2 0 0)) (local.set $c13 (v128.const i64x2 0 0))
        (local.set $pb (local.get $b))
        (local.set $k_end (i32.add (local.get $b) (i32.shl (local.get $kc) (i32.const 6))))
        (loop $k
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $b2 (v128.load offset=32 (local.get $pb)))
          (local.set $b3 (v128.load offset=48 (local.get $pb)))
          (local.set $x (v128.load64_splat (local.get $a0)))
          (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $x) (local.get $b1))))
          (local.set $c02 (f64x2.add (local.get $c02) (f64x2.mul (local.get $x) (local.get $b2))))
          (local.set $c03 (f64x2.add (local.get $c03) (f64x2.mul (local.get $x) (local.get $b3))))
          (local.set $x (v128.load64_splat (local.get $a1)))
          (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $x) (local.get $b1))))
          (local.set $c12 (f64x2.add (local.get $c12) (f64x2.mul (local.get $x) (local.get $b2))))
          (local.set $c13 (f64x2.add (local.get $c13) (f64x2.mul (local.get $x) (local.get $b3))))
          (local.set $a0 (i32.add (local.get $a0) (i32.const 8)))
          (local.set $a1 (i32.add (local.get $a1) (i32.const 8)))
          (br_if $k (i32.lt_u (local.tee $pb (i32.add (local.get $pb) (i32.const 64))) (local.get $k_end))))
        (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (local.get $accumulate))))
        (local.set $scale (f64x2.splat (local.get $alpha)))
        (local.set $cp (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (local.set $x (f64x2.mul (local.get $c00) (local.get $scale)))
        (v128.store64_lane 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $x (f64x2.mul (local.get $c01) (local.get $scale)))
        (v128.store64_lane offset=8 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $x (f64x2.mul (local.get $c02) (local.get $scale)))
        (v128.store64_lane offset=16 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $x (f64x2.mul (local.get $c03) (local.get $scale)))
        (v128.store64_lane offset=24 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
        (local.set $x (f64x2.mul (local.get $c10) (local.get $scale)))
        (v128.store64_lane 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $x (f64x2.mul (local.get $c11) (local.get $scale)))
        (v128.store64_lane offset=8 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $x (f64x2.mul (local.get $c12) (local.get $scale)))
        (v128.store64_lane offset=16 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (local.set $x (f64x2.mul (local.get $c13) (local.get $scale)))
        (v128.store64_lane offset=24 0 (local.get $cp) (f32x4.demote_f64x2_zero
          (v128.bitselect (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $cp))) (local.get $x)) (local.get $x) (local.get $keep))))
        (br_if $blocks (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 2))) (local.get $m))))
      (local.set $c (i32.add (local.get $c) (i32.const 32)))
      (br_if $panels (i32.lt_u (local.tee $b (i32.add (local.get $b) (local.get $panel_bytes))) (local.get $b_end)))))

)
