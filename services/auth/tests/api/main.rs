mod currentuser;
mod helpers;
mod signin;
mod signout;
mod signup;
mod startup;
