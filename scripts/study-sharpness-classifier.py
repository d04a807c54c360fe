"""Study for issue 20, second try: a logistic regression on 16 spectral features of the LR luma (8 band powers
relative to the lowest band, and the same after one more bicubic downscale), cross-validated by photo (4 folds) on
the 44 training photos (2 crops each: bicubic-downscaled, and 2 blind kernels). Prints how much bicubic input is
recognised at each threshold against how much blurred input is taken for bicubic.
Usage: .venv/bin/python scripts/study-sharpness-classifier.py   (numpy, torch; about 20 s)
"""
import os, sys, math, glob, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "study-sharpness.py")).read().split('rng=np.random.default_rng(0)')[0]
ns = {"__file__": os.path.join(os.path.dirname(os.path.abspath(__file__)), "study-sharpness.py")}
exec(compile(src, "s", "exec"), ns)
load, bicubic_down, blur_down, luma, gk = ns['load'], ns['bicubic_down'], ns['blur_down'], ns['luma'], ns['gaussian_kernel']
def bands(y):
    y=luma(y); y=y-y.mean(); h,w=y.shape
    win=np.outer(np.hanning(h),np.hanning(w)); P=np.abs(np.fft.fft2(y*win))**2
    f=np.sqrt(np.fft.fftfreq(h)[:,None]**2+np.fft.fftfreq(w)[None,:]**2)
    edges=[0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5]
    return np.array([math.log10(P[(f>a)&(f<b)].mean()+1e-20) for a,b in zip(edges[:-1],edges[1:])])
def features(y):
    b=bands(y); b2=bands(bicubic_down(y))
    return np.concatenate([b[1:]-b[0], (b2-b)[1:]-(b2-b)[0]])
rng=np.random.default_rng(0)
photos=sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'data/external/*.png')))
X=[];Y=[];G=[]
for pi,p in enumerate(photos):
    x=load(p); h,w,_=x.shape
    for crop in range(2):
        c=min(h,w,384)//8*8; top=rng.integers(0,h-c+1); left=rng.integers(0,w-c+1); xc=x[top:top+c,left:left+c]
        X.append(features(bicubic_down(xc))); Y.append(0); G.append(pi)
        for _ in range(2):
            k=gk(rng.uniform(0.6,5),rng.uniform(0.6,5),rng.uniform(0,math.pi))
            X.append(features(blur_down(xc,k))); Y.append(1); G.append(pi)
X=np.array(X);Y=np.array(Y);G=np.array(G)
def fit(X,Y,l2=1e-2,iters=3000,lr=0.1):
    mu=X.mean(0); sd=X.std(0)+1e-9; Z=(X-mu)/sd; w=np.zeros(Z.shape[1]); b=0.0
    for _ in range(iters):
        p=1/(1+np.exp(-(Z@w+b))); g=Z.T@(p-Y)/len(Y)+l2*w; w-=lr*g; b-=lr*(p-Y).mean()
    return mu,sd,w,b
def predict(m,X):
    mu,sd,w,b=m; return 1/(1+np.exp(-(((X-mu)/sd)@w+b)))
groups=np.unique(G); rng=np.random.default_rng(0); rng.shuffle(groups); folds=np.array_split(groups,4)
for subset,name in [(slice(0,8),'absolute'),(slice(8,16),'relative'),(slice(0,16),'both')]:
    errs=[];probs=[];ys=[]
    for f in folds:
        test=np.isin(G,f); m=fit(X[~test][:,subset],Y[~test]); p=predict(m,X[test][:,subset]); probs+=list(p); ys+=list(Y[test])
    probs=np.array(probs); ys=np.array(ys)
    for t in [0.5,0.2,0.1,0.05]:
        # decide "bicubic" (no extra blur) when p(blur) < t
        bic_as_bic=((probs<t)&(ys==0)).sum()/(ys==0).sum(); blur_as_bic=((probs<t)&(ys==1)).sum()/(ys==1).sum()
        print(f"{name:9s} t={t:.2f}: bicubic recognised {bic_as_bic:.0%}, blurred taken as bicubic {blur_as_bic:.1%}")
