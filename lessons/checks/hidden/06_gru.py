"""Hidden checks for lesson 06: other shapes, saturated gates. They stay with the instructor."""


from minigen.grading import check, public_checks

public = public_checks(__file__)


@check("gru_step_forward", points=1)
def forward_other_shapes(student):
    """gru_step_forward works for one example, one hidden unit, and saturated gates"""
    public.check_gru_forward(student, public.gru_inputs(B=1, C=7, H=2, seed=11))
    public.check_gru_forward(student, public.gru_inputs(B=4, C=2, H=1, seed=12))
    inputs = public.gru_inputs(B=2, C=3, H=4, seed=13)
    inputs["b_ih"] = inputs["b_ih"] * 40                      # r, z at 0 or 1, n at -1 or 1
    public.check_gru_forward(student, inputs)


@check("gru_step_backward", points=2)
def backward_other_shapes(student):
    """gru_step_backward is right for other shapes and another upstream gradient"""
    public.check_gru_backward(student, public.gru_inputs(B=2, C=3, H=3, seed=21), seed=5)
    public.check_gru_backward(student, public.gru_inputs(B=1, C=2, H=6, seed=22), seed=6)
    public.check_gru_backward(student, public.gru_inputs(B=3, C=4, H=1, seed=23), seed=7)
